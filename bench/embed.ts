// npm run bench:embed — the embedding engine's figures, all measured in one run on this machine:
// raw ONNX Runtime throughput (pre-tokenised, best batch size), engine throughput (texts in,
// normalised vectors out, through the session pool and the dynamic batcher), their ratio, int8 vs
// fp32, and HTTP latency of POST /v1/embeddings (single text, low load; then cached) next to the
// latency of a bare node:http server measured by the same client in the same run. One JSON object.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runMigrations, startEmbeddedPostgres } from '@tributary/db';
import {
  buildModels,
  buildUseLiteOnnx,
  EmbeddingEngine,
  loadUseLiteTokenizer,
  UseLiteEmbedder,
  type UseLiteVersion,
} from '@tributary/inference';
import { runLatencyClient } from './latency';
import { freePort, startRedisServer, stopProcess, waitUntil } from '@tributary/testing';

const ROOT = path.resolve(__dirname, '..');
const THREADS = 2;
const WORDS =
  'the a stream of tweets about weather sports markets music travel food code news today rain'.split(' ');

/** A tweet-length sentence of about twelve words, different for every i. */
function sentence(i: number): string {
  return `${Array.from({ length: 12 }, (_, k) => WORDS[(i * 7 + k * 3 + Math.floor(i / 13)) % WORDS.length]).join(' ')} #${i}`;
}

async function rawItemsPerSecond(
  version: UseLiteVersion,
  rows: number[][],
): Promise<{ best: number; batch: number }> {
  const embedder = await UseLiteEmbedder.create(buildUseLiteOnnx(version), loadUseLiteTokenizer(), {
    intraOpThreads: THREADS,
  });
  let best = { best: 0, batch: 0 };
  try {
    for (const batch of [16, 32, 64, 128]) {
      await embedder.embedTokens(rows.slice(0, batch));
      const started = process.hrtime.bigint();
      for (let i = 0; i < rows.length; i += batch) await embedder.embedTokens(rows.slice(i, i + batch));
      const rate = rows.length / (Number(process.hrtime.bigint() - started) / 1e9);
      if (rate > best.best) best = { best: rate, batch };
    }
  } finally {
    await embedder.release();
  }
  return best;
}

async function engineItemsPerSecond(modelsDataDir: string, texts: string[]): Promise<number> {
  const engine = await EmbeddingEngine.start({
    manifestsDir: path.join(ROOT, 'models'),
    modelsDataDir,
    models: ['use-lite@1'],
    sessionsPerModel: 1,
    intraOpThreads: THREADS,
    batching: { maxBatchSize: 64, maxWaitMs: 2, maxQueuedRows: 100_000 },
  });
  try {
    const run = async (items: string[]) => {
      // Clients send a few texts each, many at once: the batcher assembles the batches.
      const requests: Promise<Float32Array[]>[] = [];
      for (let i = 0; i < items.length; i += 4) {
        const chunk = items.slice(i, i + 4);
        requests.push(
          engine.embedRows('use-lite@1', engine.tokenize('use-lite@1', chunk).rows, Date.now() + 600_000),
        );
      }
      await Promise.all(requests);
    };
    await run(texts.slice(0, 256));
    const started = process.hrtime.bigint();
    await run(texts);
    return texts.length / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await engine.close();
  }
}

/** A bare node:http server in a process of its own: what any HTTP answer costs on this machine. */
async function startFloorServer(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${port}, '127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}/`;
  await waitUntil('the floor server', async () => (await fetch(url)).ok, 10_000, 50);
  return { url, process: child };
}

async function httpLatencies(
  dataDir: string,
): Promise<Record<'p50' | 'p99' | 'cachedP50' | 'cachedP99' | 'liveP99' | 'floorP50' | 'floorP99', number>> {
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
  const redis = await startRedisServer();
  const port = await freePort();
  const adminKey = 'trb_admin_bench-key-0123456789abcdef';
  await runMigrations(postgres.url);
  const api = spawn(process.execPath, ['-r', '@swc-node/register', path.join(ROOT, 'apps/api/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      ADMIN_API_KEY: adminKey,
      DATA_DIR: dataDir,
      MODELS: 'use-lite@1',
      INFERENCE_INTRA_OP_THREADS: String(THREADS),
      LOG_LEVEL: 'warn',
      SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
    },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${port}`;
  const floor = await startFloorServer();
  try {
    await waitUntil('the API', async () => (await fetch(`${base}/health/ready`)).ok, 120_000, 200);
    const json = (body: unknown, key: string) => ({
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const tenant = (await (
      await fetch(
        `${base}/v1/admin/tenants`,
        json({ name: 'bench', limits: { rateLimitPerSecond: 100000, rateLimitBurst: 100000 } }, adminKey),
      )
    ).json()) as { id: string };
    const key = (
      (await (await fetch(`${base}/v1/admin/tenants/${tenant.id}/keys`, json({}, adminKey))).json()) as {
        secret: string;
      }
    ).secret;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const embeddings = `${base}/v1/embeddings`;
    const figures = await runLatencyClient([
      // The floor: the same client against a bare node:http server, measured in the same run.
      { name: 'floor', method: 'GET', url: floor.url, warmup: 200, count: 2000 },
      // The framework's floor: routing, logging, metrics, no auth.
      { name: 'live', method: 'GET', url: `${base}/health/live`, warmup: 200, count: 2000 },
      // Single new texts at low load: every request is a cache miss (`{i}` makes each text unique).
      {
        name: 'uncached',
        method: 'POST',
        url: embeddings,
        headers,
        bodies: Array.from({ length: 20 }, (_, k) => JSON.stringify({ input: `latency {i} ${sentence(k)}` })),
        warmup: 50,
        count: 400,
      },
      // Twenty texts over and over: after the warm-up every request is a hit.
      {
        name: 'cached',
        method: 'POST',
        url: embeddings,
        headers,
        bodies: Array.from({ length: 20 }, (_, k) => JSON.stringify({ input: `cached ${sentence(k)}` })),
        warmup: 100,
        count: 2000,
      },
    ]);
    return {
      p50: figures['uncached']!.p50,
      p99: figures['uncached']!.p99,
      cachedP50: figures['cached']!.p50,
      cachedP99: figures['cached']!.p99,
      liveP99: figures['live']!.p99,
      floorP50: figures['floor']!.p50,
      floorP99: figures['floor']!.p99,
    };
  } finally {
    await stopProcess(floor.process);
    await stopProcess(api);
    await redis.stop();
    await postgres.stop();
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-'));
  // Enterable by the postgres user, so the embedded PostgreSQL keeps its files here.
  chmodSync(dataDir, 0o755);
  try {
    const modelsDataDir = path.join(dataDir, 'models');
    await buildModels({ manifestsDir: path.join(ROOT, 'models'), modelsDataDir });
    const tokenizer = loadUseLiteTokenizer();
    const texts = Array.from({ length: 4096 }, (_, i) => sentence(i));
    const rows = texts.map((t) => tokenizer.encode(t));
    const fp32 = await rawItemsPerSecond('use-lite@1', rows);
    const int8 = await rawItemsPerSecond('use-lite-int8@1', rows);
    const engine = await engineItemsPerSecond(modelsDataDir, texts);
    const http = await httpLatencies(dataDir);
    const round = (n: number, digits = 1) => Number(n.toFixed(digits));
    process.stdout.write(
      `${JSON.stringify({
        model: 'use-lite@1',
        items: texts.length,
        threads: THREADS,
        raw_ort_items_per_s: round(fp32.best),
        raw_ort_best_batch: fp32.batch,
        engine_items_per_s: round(engine),
        engine_over_raw: round(engine / fp32.best, 3),
        int8_raw_ort_items_per_s: round(int8.best),
        int8_over_fp32: round(int8.best / fp32.best, 3),
        http_p50_ms: round(http.p50, 2),
        http_p99_ms: round(http.p99, 2),
        cached_p50_ms: round(http.cachedP50, 2),
        cached_p99_ms: round(http.cachedP99, 2),
        live_p99_ms: round(http.liveP99, 2),
        floor_p50_ms: round(http.floorP50, 2),
        floor_p99_ms: round(http.floorP99, 2),
        cached_p99_over_floor: round(http.cachedP99 / http.floorP99, 2),
        latency_client: 'node:http keep-alive, own process, sequential',
      })}\n`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:embed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
