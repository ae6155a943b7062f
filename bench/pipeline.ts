// npm run bench:pipeline — the streaming data plane's figures, measured in one run on this machine:
// end-to-end items/minute for 50,000 tweet-length texts from REST ingest to searchable, the raw
// engine's items/minute in the same run and their ratio, ingest → searchable latency at half of
// that rate, search latency over 100,000 vectors with its recall@10 against exact (brute-force)
// search over the same vectors read back from PostgreSQL, and the peak RSS of the api and worker processes.
// Real PostgreSQL (the system's when installed; else the launcher's embedded one), real Redis, the embedded vector store.
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { CollectionRepository, DbModule, runMigrations, startEmbeddedPostgres } from '@tributary/db';
import { ConfigModule, loadConfig } from '@tributary/config';
import {
  buildModels,
  EmbeddingEngine,
  engineOptionsFromConfig,
  type EngineOptions,
} from '@tributary/inference';
import { runLatencyClient } from './latency';
import { freePort, startPostgresServer, startRedisServer, stopProcess, waitUntil } from '@tributary/testing';

const ROOT = path.resolve(__dirname, '..');
const ITEMS = Number(process.env['BENCH_ITEMS'] ?? 50_000);
const SEARCH_POINTS = Number(process.env['BENCH_SEARCH_POINTS'] ?? 100_000);
const BATCH = 1000;
const CLIENTS = 4;
const ADMIN_KEY = 'trb_admin_bench-pipeline-key-0123456789';
const WORDS = (
  'rain sun storm wind match goal coach market price stock song album tour flight train delay coffee ' +
  'pasta recipe code bug release phone battery screen election vote city traffic park museum movie ' +
  'series episode school exam holiday beach mountain snow river bridge'
).split(' ');

/** A tweet-length text (about twelve words), different for every i. */
function tweet(i: number): string {
  const pick = (k: number) => WORDS[(i * 31 + k * 17 + Math.floor(i / 7) * k) % WORDS.length];
  return `${Array.from({ length: 12 }, (_, k) => pick(k)).join(' ')} #${i}`;
}

/**
 * recall@10 of the API's search against brute force over the collection's vectors as PostgreSQL
 * holds them (what the index was built from), for each query vector; a hit that ties with the
 * 10th true neighbour (within 1e-5) counts as found. Also how many stored items come back first
 * (or tied with the first) when searched by their own text.
 */
async function searchRecall(
  base: string,
  key: string,
  databaseUrl: string,
  tenantId: string,
  queries: Float32Array[],
  ownTexts: { id: string; text: string }[],
): Promise<{ recall: number; ownFirst: string }> {
  const db = await NestFactory.createApplicationContext(
    {
      module: class BenchDb {},
      imports: [
        ConfigModule.forRoot(loadConfig({ DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '2' })),
        DbModule,
      ],
    },
    { logger: false },
  );
  try {
    const collections = db.get(CollectionRepository);
    const collection = await collections.byName(tenantId, 'tweets');
    const ids: string[] = [];
    const scores = queries.map(() => [] as number[]);
    for await (const page of collections.collectionVectors(tenantId, collection.id)) {
      for (const point of page) {
        ids.push(point.itemId);
        const norm = Math.hypot(...point.vector);
        queries.forEach((q, i) => {
          let dot = 0;
          for (let d = 0; d < q.length; d++) dot += q[d]! * point.vector[d]!;
          scores[i]!.push(dot / norm);
        });
      }
    }
    let found = 0;
    for (const [i, q] of queries.entries()) {
      const qNorm = Math.hypot(...q);
      const ranked = scores[i]!.map((s, j) => ({ j, s: s / qNorm })).sort((a, b) => b.s - a.s);
      const bar = ranked[9]!.s - 1e-5;
      const scoreOf = new Map(ranked.map((r) => [ids[r.j]!, r.s]));
      const r = await api(base, 'POST', '/v1/collections/tweets/search', key, {
        query: Array.from(q),
        k: 10,
      });
      for (const hit of r.body.data as { id: string }[]) if ((scoreOf.get(hit.id) ?? -2) >= bar) found++;
    }
    let ownFirst = 0;
    for (const { id, text } of ownTexts) {
      const r = await api(base, 'POST', '/v1/collections/tweets/search', key, { query: text, k: 10 });
      // Tweets from one template can embed identically: a tie with the first hit counts as first.
      const hits = r.body.data as { id: string; score: number }[];
      if (hits.some((hit) => hit.id === id && hit.score >= hits[0]!.score - 1e-5)) ownFirst++;
    }
    return { recall: found / (queries.length * 10), ownFirst: `${ownFirst}/${ownTexts.length}` };
  } finally {
    await db.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds of every process whose command line matches (PostgreSQL backends, redis-server). */
function cpuSecondsOf(pattern: RegExp): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (pattern.test(cmd)) total += cpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Waits (up to 60 s) until the platform's processes use under a tenth of a core over half a second. */
async function waitForQuiet(cpu: () => Record<string, number>): Promise<void> {
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

function peakRssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function api(base: string, method: string, url: string, key: string, body?: unknown) {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();

  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * The engine alone on the same texts, started with the options the worker derives from the same
 * configuration: tokenise, batch, infer, normalise (no queue, no storage).
 */
async function engineRun(
  options: EngineOptions,
  texts: string[],
): Promise<{ itemsPerMin: number; cpuMsPerItem: number }> {
  const engine = await EmbeddingEngine.start(options);
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
          await engine.embedRows(
            'use-lite@1',
            engine.tokenize('use-lite@1', chunk).rows,
            Date.now() + 600_000,
          );
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

/** Starts an app; with BENCH_PROFILE=<app> it writes a V8 CPU profile to tmp/profiles when it exits. */
function startApp(app: 'api' | 'worker', env: NodeJS.ProcessEnv): ChildProcess {
  const profile = process.env['BENCH_PROFILE'] === app ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  if (profile.length > 0) process.stderr.write(`bench:pipeline: profiling ${app} into ${PROFILE_DIR}\n`);
  return spawn(
    process.execPath,
    [...profile, '-r', '@swc-node/register', path.join(ROOT, 'apps', app, 'src', 'main.ts')],
    {
      cwd: ROOT,
      env: { ...env, SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** Sends items through POST /items with a few concurrent clients, retrying on 429/503 as clients should. */
async function ingest(
  base: string,
  key: string,
  streamId: string,
  ids: number[],
  text: (i: number) => string,
) {
  let next = 0;
  const client = async () => {
    while (next < ids.length) {
      const slice = ids.slice(next, next + BATCH);
      next += BATCH;
      const items = slice.map((i) => ({ id: `i${i}`, text: text(i), metadata: { bucket: i % 10 } }));
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

async function points(base: string, key: string, collection: string): Promise<number> {
  const list = await api(base, 'GET', '/v1/collections', key);
  return (
    (list.body.data as { name: string; points: number }[]).find((c) => c.name === collection)?.points ?? 0
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-pipeline-'));
  // Enterable by the postgres user, so an embedded PostgreSQL keeps its files here.
  chmodSync(dir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    const modelsDataDir = path.join(ROOT, '.data', 'models');
    await buildModels({ manifestsDir: path.join(ROOT, 'models'), modelsDataDir });
    const texts = Array.from({ length: ITEMS }, (_, i) => tweet(i));
    // The worker's settings: its defaults, or what BENCH_WORKER_ENV (a JSON object) sets.
    const workerSettings: Record<string, string> = {
      DATA_DIR: path.join(ROOT, '.data'),
      MODELS: 'use-lite@1',
      WORKER_QUEUES: 'embed-use-lite-1',
      ...(JSON.parse(process.env['BENCH_WORKER_ENV'] ?? '{}') as Record<string, string>),
    };
    // The engine is measured before and after the pipeline (the machine's speed drifts); the mean counts.
    const measureEngine = () =>
      engineRun(
        engineOptionsFromConfig(
          loadConfig({ ...process.env, ...workerSettings }),
          ['use-lite@1'],
          undefined,
          1_000_000,
          'throughput',
        ),
        texts.slice(0, Math.min(ITEMS, 10_000)),
      );
    const engineRuns = [await measureEngine()];

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
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: path.join(ROOT, '.data'),
      VECTOR_DIR: path.join(dir, 'vectors'),
      MODELS: 'use-lite@1',
      LOG_LEVEL: 'warn',
      INGEST_TENANT_MAX_QUEUED: '1000000',
      INGEST_TENANT_ITEMS_PER_SECOND: '1000000',
      INGEST_TENANT_ITEMS_BURST: '1000000',
    };
    const apiProcess = startApp('api', {
      ...env,
      INFERENCE_INTRA_OP_THREADS: '1',
      WORKER_QUEUES: 'maintenance',
    });
    // A profiled process needs time to write its profile on the way out.
    stops.push(() => stopProcess(apiProcess, 60_000));
    await waitUntil(
      'the API',
      async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.ok === true,
      120_000,
      200,
    );
    const worker = startApp('worker', { ...env, ...workerSettings });
    stops.push(() => stopProcess(worker, 60_000));

    const tenant = await api(base, 'POST', '/v1/admin/tenants', ADMIN_KEY, {
      name: 'bench',
      limits: { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 },
    });
    const key = (await api(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, ADMIN_KEY, {})).body
      .secret as string;
    const stream = (await api(base, 'POST', '/v1/streams', key, { name: 'tweets', kind: 'text' })).body;
    // Warm the worker (models load, first batches) before timing.
    await api(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: [{ id: 'warm', text: 'warm up' }],
    });
    await waitUntil(
      'the worker to warm up',
      async () => (await points(base, key, 'tweets')) === 1,
      120_000,
      100,
    );

    // 1. End to end: every item accepted by the API, embedded by the worker, searchable in the index.
    const cpu = () => ({
      api: cpuSeconds(apiProcess.pid),
      worker: cpuSeconds(worker.pid),
      postgres: cpuSecondsOf(/^postgres/),
      redis: cpuSecondsOf(/^\S*redis-server/),
      bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6,
    });
    const cpuBefore = cpu();
    const started = process.hrtime.bigint();
    await ingest(
      base,
      key,
      stream.id,
      Array.from({ length: ITEMS }, (_, i) => i),
      tweet,
    );
    const ingestSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await waitUntil(
      'every item to be searchable',
      async () => (await points(base, key, 'tweets')) >= ITEMS + 1,
      1_800_000,
      // Coarse enough not to load the API (each poll is an authenticated request): ≤ 0.3% of the run.
      200,
    );
    const pipelineSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const pipelineRate = (ITEMS / pipelineSeconds) * 60;
    const cpuAfter = cpu();
    const cpuUsed = Object.entries(cpuAfter).map(
      ([name, seconds]) => [name, seconds - cpuBefore[name as keyof typeof cpuBefore]] as const,
    );
    const cpuShare = Object.fromEntries(
      cpuUsed.map(([name, seconds]) => [name, Number((seconds / pipelineSeconds).toFixed(2))]),
    );
    // CPU per item is steadier than rates on a shared machine: where the pipeline's time goes.
    const cpuMsPerItem = Object.fromEntries(
      cpuUsed.map(([name, seconds]) => [name, Number(((seconds * 1000) / ITEMS).toFixed(3))]),
    );
    // The second engine run waits until the platform is idle (the API's last index save, the
    // database's writes), so that it is measured alone, as the first one was.
    await waitForQuiet(cpu);
    engineRuns.push(await measureEngine());
    const engineRate = engineRuns.reduce((sum, r) => sum + r.itemsPerMin, 0) / engineRuns.length;
    const engineCpuMsPerItem = engineRuns.reduce((sum, r) => sum + r.cpuMsPerItem, 0) / engineRuns.length;
    const round = (n: number, digits = 1) => Number(n.toFixed(digits));
    const pipelineFigures = {
      items: ITEMS,
      database,
      vector_store: 'embedded',
      items_per_min: round(pipelineRate),
      ingest_items_per_min: round((ITEMS / ingestSeconds) * 60),
      engine_items_per_min: round(engineRate),
      engine_items_per_min_runs: engineRuns.map((r) => round(r.itemsPerMin)),
      pipeline_over_engine: round(pipelineRate / engineRate, 3),
      pipeline_cores_used: cpuShare,
      pipeline_cpu_ms_per_item: cpuMsPerItem,
      engine_cpu_ms_per_item: round(engineCpuMsPerItem, 3),
    };
    if (process.env['BENCH_ONLY'] === 'pipeline') {
      process.stdout.write(`${JSON.stringify(pipelineFigures)}\n`);
      return;
    }

    // 2. Freshness at half the measured rate: small batches at a steady pace; each batch's latency
    //    runs from its request to the moment the index holds it.
    const fresh = (
      await api(base, 'POST', '/v1/streams', key, { name: 'fresh', kind: 'text', collection: 'fresh' })
    ).body;
    const perSecond = pipelineRate / 60 / 2;
    const batchSize = 10;
    const interval = (1000 * batchSize) / perSecond;
    const batches = Math.max(20, Math.round(20_000 / interval));
    const latencies: number[] = [];
    let sent = 0;
    const pending: { count: number; at: number }[] = [];
    const watcher = (async () => {
      while (latencies.length < batches) {
        const have = await points(base, key, 'fresh');
        const now = performance.now();
        while (pending.length > 0 && pending[0]!.count <= have) latencies.push(now - pending.shift()!.at);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    for (let b = 0; b < batches; b++) {
      const at = performance.now();
      const items = Array.from({ length: batchSize }, (_, k) => ({
        id: `f${b}-${k}`,
        text: `fresh ${tweet(ITEMS + b * batchSize + k)}`,
      }));
      const r = await api(base, 'POST', `/v1/streams/${fresh.id}/items`, key, { items });
      if (r.status !== 202) throw new Error(`freshness ingest answered ${r.status}`);
      sent += batchSize;
      pending.push({ count: sent, at });
      const wait = at + interval - performance.now();
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
    await watcher;
    latencies.sort((a, b) => a - b);

    // 3. Search over SEARCH_POINTS vectors: fill the collection up, then vector queries over HTTP.
    if (SEARCH_POINTS > ITEMS + 1) {
      const more = Array.from({ length: SEARCH_POINTS - ITEMS - 1 }, (_, i) => ITEMS + 1 + i);
      await ingest(base, key, stream.id, more, (i) => `${tweet(i)} more`);
      await waitUntil(
        'the search collection to fill',
        async () => (await points(base, key, 'tweets')) >= SEARCH_POINTS,
        1_800_000,
        200,
      );
    }
    const queries = await api(base, 'POST', '/v1/embeddings', key, {
      input: texts.slice(0, 20).map((t) => `${t} query`),
    });
    const bodies = (queries.body.data as { embedding: number[] }[]).map((d) =>
      JSON.stringify({ query: d.embedding, k: 10 }),
    );
    // One request of each kind in turn: the machine's bursts of noise fall on all three alike.
    const search = await runLatencyClient({
      interleave: [
        {
          name: 'me',
          method: 'GET',
          url: `${base}/v1/me`,
          headers: { authorization: `Bearer ${key}` },
          warmup: 100,
          count: 1000,
        },
        {
          // A small body (the text query's embedding is cached after the first request).
          name: 'search_text',
          method: 'POST',
          url: `${base}/v1/collections/tweets/search`,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          bodies: texts.slice(0, 20).map((t) => JSON.stringify({ query: t, k: 10 })),
          warmup: 100,
          count: 1000,
        },
        {
          name: 'search',
          method: 'POST',
          url: `${base}/v1/collections/tweets/search`,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          bodies,
          warmup: 100,
          count: 1000,
        },
      ],
    });
    const searchPoints = await points(base, key, 'tweets');
    const recall = await searchRecall(
      base,
      key,
      databaseUrl,
      tenant.body.id as string,
      (queries.body.data as { embedding: number[] }[]).map((d) => Float32Array.from(d.embedding)),
      // Stored tweets, searched by their own text: each should come back first.
      Array.from({ length: 20 }, (_, i) => ({ id: `i${i * 2500}`, text: tweet(i * 2500) })),
    );
    // Server-side mean time of each route (request received → response sent), from the API's histogram.
    const scrape = await (await fetch(`${base}/metrics`)).text();
    const serverMeanMs = (route: string) => {
      const pick = (suffix: string) =>
        scrape
          .split('\n')
          .filter(
            (l) =>
              l.startsWith(`tributary_http_request_duration_seconds_${suffix}{`) &&
              l.includes(`route="${route}"`) &&
              l.includes('status="200"'),
          )
          .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      return (pick('sum') / Math.max(1, pick('count'))) * 1000;
    };

    process.stdout.write(
      `${JSON.stringify({
        ...pipelineFigures,
        freshness_rate_items_per_s: round(perSecond),
        freshness_batches: latencies.length,
        freshness_p50_ms: round(percentile(latencies, 50)),
        freshness_p99_ms: round(percentile(latencies, 99)),
        search_points: searchPoints,
        search_p50_ms: round(search['search']!.p50, 2),
        search_p99_ms: round(search['search']!.p99, 2),
        search_recall_at_10: round(recall.recall, 4),
        search_own_text_first: recall.ownFirst,
        search_text_p50_ms: round(search['search_text']!.p50, 2),
        search_text_p99_ms: round(search['search_text']!.p99, 2),
        me_p50_ms: round(search['me']!.p50, 2),
        search_server_mean_ms: round(serverMeanMs('/v1/collections/:name/search'), 2),
        me_server_mean_ms: round(serverMeanMs('/v1/me'), 2),
        me_p99_ms: round(search['me']!.p99, 2),
        api_peak_rss_mb: peakRssMb(apiProcess.pid),
        worker_peak_rss_mb: peakRssMb(worker.pid),
      })}\n`,
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:pipeline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
