import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitUntil } from '@tributary/testing';
import { call, isAlive, smokeFlow, startProcess, type AppProcess } from './support/app-process';

interface LauncherState {
  launcher: number;
  redis: number | null;
  apps: Record<string, number>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('npm run up in embedded mode (PGlite + launcher-started Redis)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-up-'));
  let launcher: AppProcess | undefined;

  afterAll(() => {
    if (launcher && launcher.child.exitCode === null) launcher.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes up, passes the smoke flow, restarts a crashed app, leaves nothing behind after SIGTERM, and keeps its data', async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port) };
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'ADMIN_API_KEY', 'NODE_OPTIONS']) delete env[name];
    launcher = startProcess(['scripts/up.mjs'], env);
    const started = Date.now();

    await launcher.waitForLine(/^Tributary is up\.$/, 150_000);
    process.stdout.write(`launcher: ready ${Date.now() - started} ms after start\n`);
    const adminLine = await launcher.waitForLine(/^ {2}Admin key {3}trb_admin_/);
    const adminKey = adminLine.trim().split(/\s+/).pop()!;
    const base = `http://127.0.0.1:${port}`;
    expect((await call(base, 'GET', '/health/ready')).status).toBe(200);
    // The worker serves its own metrics, on the port the launcher printed.
    const metricsLine = launcher.lines.find((l) => l.startsWith('  Metrics'))!;
    const workerMetrics = /(http:\/\/localhost:\d+\/metrics) \(worker\)/.exec(metricsLine)![1]!;
    await waitUntil(
      'the worker to serve its metrics',
      async () =>
        (await fetch(workerMetrics.replace('localhost', '127.0.0.1')).catch(() => undefined))?.ok === true,
      60_000,
      200,
    );
    expect(await (await fetch(workerMetrics.replace('localhost', '127.0.0.1'))).text()).toContain(
      'app="worker"',
    );

    const { keyId, key } = await smokeFlow(base, adminKey);
    expect((await call(base, 'DELETE', `/v1/admin/keys/${keyId}`, adminKey)).status).toBe(200);
    expect((await call(base, 'GET', '/v1/me', key)).status).toBe(401);

    const state = JSON.parse(readFileSync(path.join(dataDir, 'launcher.json'), 'utf8')) as LauncherState;
    expect(state.redis).toBeGreaterThan(0);
    const pids = [state.redis!, ...Object.values(state.apps)];
    expect(pids.every(isAlive)).toBe(true);

    // A crashed app is restarted with backoff, and the platform keeps answering.
    process.kill(state.apps['worker']!, 'SIGKILL');
    await launcher.waitForLine(/\[launcher\] worker exited \(SIGKILL\); restarting in \d+ ms/);
    await launcher.waitForLine(/"app":"worker".*serving queues/);

    launcher.child.kill('SIGTERM');
    expect(await launcher.exit()).toBe(0);
    expect(launcher.lines).toContain('[launcher] stopped');
    await waitUntil(
      'every started process to be gone',
      () => Promise.resolve(pids.every((p) => !isAlive(p))),
      10_000,
    );
    expect(await portOpen(port)).toBe(false);
    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(launcher.lines.join('\n'))?.[1] ?? 0);
    if (redisPort) expect(await portOpen(redisPort)).toBe(false);

    // Started again on the same DATA_DIR: the data is still there and the admin key is not reprinted.
    const again = startProcess(['scripts/up.mjs'], env);
    try {
      await again.waitForLine(/^Tributary is up\.$/, 150_000);
      expect(again.lines.some((l) => l.includes('TRIBUTARY ADMIN API KEY'))).toBe(false);
      expect(again.lines.find((l) => l.startsWith('  Admin key'))).toContain(
        'generated on an earlier first boot',
      );
      const tenants = await call(base, 'GET', '/v1/admin/tenants', adminKey);
      expect(tenants.status).toBe(200);
      expect(tenants.body.data.length).toBeGreaterThanOrEqual(2);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exit()).toBe(0);
    }
  });
});
