export {
  createTestDatabase,
  prepareTemplateDatabase,
  TEMPLATE_DATABASE,
  testRedisUrl,
  testServerUrl,
  uniqueRedisPrefix,
} from './database';
export type { TestDatabase } from './database';
export { freePort, preferredPort } from './services/free-port';
export { findExecutable, isRunning, run, stopProcess, waitForExit, waitUntil } from './services/process';
export { POSTGRES_MISSING, startPostgresServer } from './services/postgres-server';
export type { PostgresServer } from './services/postgres-server';
export { REDIS_MISSING, startRedisServer } from './services/redis-server';
export type { RedisServer } from './services/redis-server';
export { tenantWithStream } from './fixtures/stream-fixture';
export { SUBJECTS, textAbout } from './fixtures/subject-texts';
