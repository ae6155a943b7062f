import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createTestDatabase,
  freePort,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import { call, startApp, type AppProcess } from './app-process';

export type PlatformApp = 'api' | 'worker' | 'scheduler';

export interface Platform {
  base: string;
  env: NodeJS.ProcessEnv;
  db: TestDatabase;
  apps: Map<PlatformApp, AppProcess>;
  vectorDir: string;
  /** The worker's Prometheus endpoint. */
  workerMetrics: string;
  start(app: PlatformApp, extra?: NodeJS.ProcessEnv): Promise<AppProcess>;
  stop(app: PlatformApp, signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
}

export const ADMIN_KEY = 'trb_admin_e2e-pipeline-key-0123456789abcdef';

/**
 * The API and an embedding worker as real processes on a database (a fresh test database unless
 * one is given) and a Redis prefix of their own.
 */
export async function startPlatform(
  extraEnv: NodeJS.ProcessEnv = {},
  database?: TestDatabase,
): Promise<Platform> {
  const db = database ?? (await createTestDatabase());
  const port = await freePort();
  const vectorDir = mkdtempSync(path.join(tmpdir(), 'tributary-vectors-'));
  const base = `http://127.0.0.1:${port}`;
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DATABASE_URL: db.url,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: uniqueRedisPrefix(),
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    DATA_DIR: '.data',
    VECTOR_DIR: vectorDir,
    MODELS: 'use-lite@1',
    INFERENCE_INTRA_OP_THREADS: '1',
    INDEX_SAVE_EVERY_MS: '500',
    EMBED_WORKER_LOCK_MS: '2000',
    WORKER_QUEUES: 'embed-use-lite-1',
    ...extraEnv,
  };
  const apps = new Map<PlatformApp, AppProcess>();
  const platform: Platform = {
    base,
    env,
    db,
    apps,
    vectorDir,
    workerMetrics: `http://127.0.0.1:${metricsPort}/metrics`,
    async start(app, extra = {}) {
      // One process per app: one left running by a test that timed out would hold the ports.
      await platform.stop(app, 'SIGKILL');
      // The worker and the scheduler say when they are ready at info level.
      const proc = startApp(app, {
        ...env,
        ...(app === 'worker' ? { LOG_LEVEL: 'info', METRICS_PORT: String(metricsPort) } : {}),
        ...(app === 'scheduler' ? { LOG_LEVEL: 'info' } : {}),
        ...extra,
      });
      apps.set(app, proc);
      if (app === 'api') {
        await waitUntil(
          'the API to be ready',
          async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok === true,
          90_000,
          100,
        );
      } else if (app === 'worker') {
        await proc.waitForLine(/serving embedding queues/, 90_000);
      } else {
        await proc.waitForLine(/scheduled OrphanedItemsRequeue/, 90_000);
      }
      return proc;
    },
    async stop(app, signal = 'SIGTERM') {
      const proc = apps.get(app);
      if (!proc) return;
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill(signal);
      await proc.exit();
      apps.delete(app);
    },
    async close() {
      for (const app of [...apps.keys()]) await platform.stop(app, 'SIGKILL');
      await db.drop();
      rmSync(vectorDir, { recursive: true, force: true });
    },
  };
  return platform;
}

/** A tenant with a key and generous limits. */
export async function newTenant(base: string, name: string): Promise<{ tenantId: string; key: string }> {
  const tenant = await call(base, 'POST', '/v1/admin/tenants', ADMIN_KEY, {
    name: `${name}-${Date.now()}`,
    limits: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
  });
  expect(tenant.status).toBe(201);
  const key = await call(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, ADMIN_KEY, {});
  expect(key.status).toBe(201);
  return { tenantId: tenant.body.id, key: key.body.secret };
}

/**
 * Waits until a stream's counters say every accepted item was embedded or failed and every embedded
 * one is searchable (with the embedded store, the API applies a write a moment after the worker
 * made it): a search after this finds them.
 */
export async function drained(base: string, key: string, streamId: string, timeoutMs = 120_000) {
  let last:
    { accepted: number; embedded: number; searchable: number; failed: number; lag: number } | undefined;
  await waitUntil(
    `stream ${streamId} to drain and be searchable (last: ${JSON.stringify(last)})`,
    async () => {
      const s = await call(base, 'GET', `/v1/streams/${streamId}`, key);
      last = s.body.counters;
      return s.status === 200 && last!.lag === 0 && last!.searchable === last!.embedded;
    },
    timeoutMs,
    200,
  );
  return last!;
}

export function tweet(i: number): string {
  const words =
    'rain sun storm match goal market price song album flight train coffee pasta code bug release'.split(' ');
  return `${words[i % words.length]} ${words[(i * 7) % words.length]} ${words[(i * 3 + 1) % words.length]} number ${i}`;
}
