import { randomBytes } from 'node:crypto';

export { createTestDatabase, prepareTemplateDatabase, TEMPLATE_DATABASE, testServerUrl } from '@tributary/db';
export type { TestDatabase } from '@tributary/db';

/** The Redis the test run provides. */
export function testRedisUrl(): string {
  const url = process.env['TEST_REDIS_URL'];
  if (!url)
    throw new Error(
      'TEST_REDIS_URL is not set: run the tests with `npm test` (or through jest, whose global setup starts Redis).',
    );
  return url;
}

/** A Redis key prefix of its own for one test, so tests sharing a Redis never collide. */
export function uniqueRedisPrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}
