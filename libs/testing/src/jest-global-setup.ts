import path from 'node:path';
import { buildModels } from '@tributary/inference';
import { prepareTemplateDatabase } from './database';
import { startPostgresServer } from './services/postgres-server';
import { startRedisServer } from './services/redis-server';

type Stop = () => Promise<void>;
const stops: Stop[] = [];

/**
 * Starts real PostgreSQL and Redis for a jest run unless the caller (`npm test`) already provides
 * them through TEST_DATABASE_URL and TEST_REDIS_URL, then migrates the template database.
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env['TEST_DATABASE_URL']) {
    const postgres = await startPostgresServer();
    process.env['TEST_DATABASE_URL'] = postgres.url;
    stops.push(() => postgres.stop());
  }
  if (!process.env['TEST_REDIS_URL']) {
    const redis = await startRedisServer();
    process.env['TEST_REDIS_URL'] = redis.url;
    stops.push(() => redis.stop());
  }
  if (process.env['TEST_TEMPLATE_READY'] !== '1') {
    await prepareTemplateDatabase(process.env['TEST_DATABASE_URL']);
    process.env['TEST_TEMPLATE_READY'] = '1';
  }
  // The apps load verified model artifacts from ./.data/models; build them when missing or stale.
  const root = path.resolve(__dirname, '../../..');
  await buildModels({
    manifestsDir: path.join(root, 'models'),
    modelsDataDir: path.join(root, '.data', 'models'),
  });
  (globalThis as { __tributaryStops?: Stop[] }).__tributaryStops = stops;
}
