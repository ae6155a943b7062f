import {
  createTestDatabase,
  freePort,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import { call, smokeFlow, startApp, type AppProcess } from './support/app-process';

const ADMIN_KEY = 'trb_admin_e2e-platform-key-0123456789abcdef';

describe('api + worker + scheduler as real processes (PostgreSQL, Redis)', () => {
  let db: TestDatabase;
  let base: string;
  let env: NodeJS.ProcessEnv;
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniqueRedisPrefix(),
      ADMIN_API_KEY: ADMIN_KEY,
      KEY_USAGE_FLUSH_EVERY_MS: '1000',
      SHUTDOWN_GRACE_MS: '1500',
      LOG_LEVEL: 'info',
    };
    apps.push(startApp('api', env), startApp('worker', env), startApp('scheduler', env));
    await waitUntil('the API to be ready', async () => (await fetch(`${base}/health/ready`)).ok, 60_000, 200);
  });

  afterAll(async () => {
    for (const app of apps)
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await Promise.all(apps.map((a) => a.exit()));
    await db.drop();
  });

  it('refuses to start on bad configuration, naming the variable', async () => {
    for (const app of ['api', 'worker', 'scheduler'] as const) {
      const bad = startApp(app, { ...env, PORT: 'eighty', LOG_LEVEL: 'loud' });
      expect(await bad.exit()).toBe(1);
      const output = bad.lines.join('\n');
      expect(output).toContain(`${app} failed to start: Invalid configuration:`);
      expect(output).toContain('PORT: expected a whole number (got "eighty")');
      expect(output).toContain('LOG_LEVEL:');
    }
  });

  it('passes the smoke flow, and the worker records when each key was last used', async () => {
    const { tenantId, keyId, key } = await smokeFlow(base, ADMIN_KEY);
    await waitUntil(
      'lastUsedAt to be flushed by the scheduled job',
      async () => {
        const keys = await call(base, 'GET', `/v1/admin/tenants/${tenantId}/keys`, ADMIN_KEY);
        return keys.body.data.find((k: { id: string }) => k.id === keyId)?.lastUsedAt !== null;
      },
      30_000,
      250,
    );

    expect((await call(base, 'DELETE', `/v1/admin/keys/${keyId}`, ADMIN_KEY)).status).toBe(200);
    expect((await call(base, 'GET', '/v1/me', key)).status).toBe(401);
  });

  it('shuts down gracefully on SIGTERM: readiness goes false first, then every process exits 0', async () => {
    const [api, worker, scheduler] = apps as [AppProcess, AppProcess, AppProcess];
    api.child.kill('SIGTERM');
    await waitUntil(
      'readiness to turn false',
      async () => (await fetch(`${base}/health/ready`)).status === 503,
      5_000,
      50,
    );
    // Draining: not ready for new traffic, but still alive and still answering what reaches it.
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await call(base, 'GET', '/v1/admin/tenants', ADMIN_KEY)).status).toBe(200);
    expect(await api.exit()).toBe(0);

    worker.child.kill('SIGTERM');
    scheduler.child.kill('SIGTERM');
    expect(await worker.exit()).toBe(0);
    expect(await scheduler.exit()).toBe(0);
    expect(worker.lines.some((l) => l.includes('workers closed'))).toBe(true);
  });
});
