// npm run bench:launcher — `npm run up`'s default set-up under concurrent clients, as one JSON object:
// the launcher's start-up time to "Tributary is up", then, for 12 and 50 parallel single-item ingests
// to one stream (and as many parallel tenant creations), the count of 5xx answers, of unique ids
// answered as duplicates, and of items answered 202 that never became searchable.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, waitForExit, waitUntil } from '@tributary/testing';

const ROOT = path.resolve(__dirname, '..');
const ADMIN_KEY = 'trb_admin_bench-launcher-key-0123456789';
const ROUNDS = (process.env['BENCH_PARALLEL'] ?? '12,50').split(',').map(Number);
const SEARCHABLE_WITHIN_MS = Number(process.env['BENCH_SEARCHABLE_WITHIN_MS'] ?? 90_000);

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function call(base: string, method: string, url: string, key: string, body?: unknown): Promise<Answer> {
  try {
    const response = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

async function round(base: string, parallel: number, run: number) {
  const tenant = await call(base, 'POST', '/v1/admin/tenants', ADMIN_KEY, {
    name: `bench-${run}-${Date.now()}`,
    limits: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
  });
  const key = (await call(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, ADMIN_KEY, {})).body
    .secret as string;
  const stream = (await call(base, 'POST', '/v1/streams', key, { name: `s${run}`, kind: 'text' })).body;
  const texts = Array.from(
    { length: parallel },
    (_, i) => `parallel item ${i} of round ${run} about topic ${i * 7}`,
  );
  const ingests = await Promise.all(
    texts.map((text, i) =>
      call(base, 'POST', `/v1/streams/${stream.id}/items`, key, { items: [{ id: `i${i}`, text }] }),
    ),
  );
  const tenants = await Promise.all(
    Array.from({ length: parallel }, (_, i) =>
      call(base, 'POST', '/v1/admin/tenants', ADMIN_KEY, { name: `bench-${run}-t${i}-${Date.now()}` }),
    ),
  );
  const accepted = ingests.flatMap((a, i) => (a.status === 202 && a.body?.accepted === 1 ? [i] : []));
  const notFound = new Set(accepted);
  const deadline = Date.now() + SEARCHABLE_WITHIN_MS;
  while (notFound.size > 0 && Date.now() < deadline) {
    for (const i of [...notFound]) {
      const hit = await call(base, 'POST', `/v1/collections/s${run}/search`, key, { query: texts[i], k: 5 });
      if (hit.status === 200 && (hit.body.data as { id: string }[]).some((h) => h.id === `i${i}`)) {
        notFound.delete(i);
      }
    }
    if (notFound.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  const counters = (await call(base, 'GET', `/v1/streams/${stream.id}`, key)).body?.counters;
  return {
    parallel,
    ingest_5xx: ingests.filter((a) => a.status >= 500 || a.status === 0).length,
    ingest_other_non_202: ingests.filter((a) => a.status !== 202 && a.status < 500 && a.status !== 0).length,
    unique_ids_answered_duplicate: ingests.filter((a) => a.status === 202 && a.body?.duplicates > 0).length,
    accepted_never_searchable: notFound.size,
    tenant_create_5xx: tenants.filter((a) => a.status >= 500 || a.status === 0).length,
    tenant_create_201: tenants.filter((a) => a.status === 201).length,
    stream_counters: counters,
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-up-'));
  // mkdtemp makes it private (700), which would send the database files to the root fallback folder.
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    ADMIN_API_KEY: ADMIN_KEY,
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'NODE_OPTIONS']) delete env[name];
  const started = Date.now();
  const launcher = spawn(process.execPath, ['scripts/up.mjs'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const at = new Map<string, number>();
  for (const stream of [launcher.stdout, launcher.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      at.set(line, Date.now() - started);
    });
  }
  const since = (pattern: RegExp) => [...at].find(([line]) => pattern.test(line))?.[1] ?? null;
  try {
    await waitUntil(
      'the launcher to print "Tributary is up."',
      () => {
        if (launcher.exitCode !== null) throw new Error(lines.join('\n'));
        return Promise.resolve(lines.includes('Tributary is up.'));
      },
      300_000,
      20,
    );
    const startupMs = Date.now() - started;
    const base = `http://127.0.0.1:${port}`;
    const rounds = [];
    for (const [run, parallel] of ROUNDS.entries()) rounds.push(await round(base, parallel, run));
    const database = lines.find((l) => l.startsWith('  Data'))?.trim();
    const figures = {
      startup_ms: startupMs,
      migrations_started_ms: since(/applying database migrations/),
      models_ready_ms: since(/^\[launcher\] models: /),
      database,
      rounds,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    launcher.kill('SIGTERM');
    await waitForExit(launcher);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:launcher failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
