// npm run bench:recall — recall@10 against exact (brute-force) search and search latency of each
// vector store, with the search settings before the search plan (HNSW with a candidate list of k)
// and with today's (exact where cheap, a wider candidate list elsewhere), measured in one run on
// the same collections: ordinary (clustered, like text) and duplicate-heavy (distinct points plus
// thousands of near-identical ones), collections under each store's exact bound and above it.
// For the embedded store also the insert cost and the memory of the flat copy it keeps for exact
// search (JS array buffers; the usearch index itself lives in native memory), old and new.
// Prints one JSON object. BENCH_RECALL_SIZES="4000,10000,16000,40000" and BENCH_RECALL_PG_SIZES change sizes,
// BENCH_RECALL_STORES which stores run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool, poolSqlClient, startPgliteSocketServer } from '@tributary/db';
import {
  cosine,
  DEFAULT_SEARCH_TUNING,
  duplicateHeavyVectors,
  EMBEDDED_SEARCH_TUNING,
  EmbeddedVectorStore,
  HNSW_ONLY_SEARCH_TUNING,
  PgVectorStore,
  QdrantVectorStore,
  randomVectors,
  startFakeQdrantServer,
  type SearchTuning,
  type VectorPoint,
  type VectorStore,
} from '@tributary/vector-store';

const DIMENSIONS = 512;
const K = 10;
const QUERIES = 200;
const sizes = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').map(Number);
// Under the former exact bound (4,096 × 512-d), above it, just under the embedded store's (16,384), above that.
const SIZES = sizes('BENCH_RECALL_SIZES', '4000,10000,16000,40000');
// PGlite (PostgreSQL in WebAssembly) builds its HNSW index several times slower than usearch.
const PG_SIZES = sizes('BENCH_RECALL_PG_SIZES', '4000,10000');

interface DataSet {
  points: VectorPoint[];
  queries: Float32Array[];
}

const unit = (v: Float32Array): Float32Array => {
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  return v.map((x) => x / norm);
};

/** Clustered like sentence embeddings: 200 topics, each point about cosine 0.7 from its topic. */
function ordinary(size: number): DataSet {
  const centres = randomVectors(200, DIMENSIONS, 101).map(unit);
  const sample = (noise: Float32Array[], offset: number) =>
    noise.map((n, i) => {
      const centre = centres[(i + offset) % centres.length] as Float32Array;
      return unit(centre.map((c, d) => c + (n[d] as number) / Math.sqrt(DIMENSIONS)));
    });
  const vectors = sample(randomVectors(size, DIMENSIONS, 102), 0);
  return {
    points: vectors.map((v, i) => ({ id: `o${i}`, vector: v, payload: {} })),
    // New texts on the same topics.
    queries: sample(randomVectors(QUERIES, DIMENSIONS, 103), 7),
  };
}

/** Distinct points first, then a crowd of near-identical ones; queries as in the contract suite. */
function duplicateHeavy(size: number): DataSet {
  const { distinct, crowd } = duplicateHeavyVectors(200, size - 200, DIMENSIONS, 104);
  const points = [
    ...distinct.map((v, i) => ({ id: `d${i}`, vector: v, payload: {} })),
    ...crowd.map((v, i) => ({ id: `c${i}`, vector: v, payload: {} })),
  ];
  const queries = [
    ...distinct.slice(0, 100),
    ...crowd.filter((_, i) => i % Math.floor(crowd.length / 50) === 3).slice(0, 50),
    ...distinct.slice(100, 150).map((v, i) => v.map((x, d) => x + ((crowd[i] as Float32Array)[d] as number))),
  ];
  return { points, queries };
}

/** The true top-k by brute force, and the k-th score (near-identical points tie with it). */
function truth(points: VectorPoint[], query: Float32Array): { ids: Set<string>; bar: number } {
  const scored = points.map((p) => ({ id: p.id, score: cosine(p.vector, query) }));
  scored.sort((a, b) => b.score - a.score);
  return { ids: new Set(scored.slice(0, K).map((s) => s.id)), bar: (scored[K - 1]?.score ?? -1) - 1e-5 };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
const round = (n: number, digits = 3) => Number(n.toFixed(digits));
/** A full collection when node runs with --expose-gc (the npm script does), so buffer figures hold only what is live. */
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

interface Measured {
  recall_at_10: number;
  /** Distinct points found first by their own vector (duplicate-heavy sets only). */
  own_vector_first?: string;
  p50_ms: number;
  p99_ms: number;
}

async function measure(store: VectorStore, key: string, data: DataSet, truths: ReturnType<typeof truth>[]) {
  const byId = new Map(data.points.map((p) => [p.id, p]));
  for (const query of data.queries.slice(0, 20)) await store.search(key, { vector: query, k: K }); // warm-up
  const times: number[] = [];
  let found = 0;
  let ownFirst = 0;
  let ownQueries = 0;
  for (const [i, query] of data.queries.entries()) {
    const started = performance.now();
    const hits = await store.search(key, { vector: query, k: K });
    times.push(performance.now() - started);
    const { ids, bar } = truths[i] as ReturnType<typeof truth>;
    for (const hit of hits) {
      if (ids.has(hit.id) || cosine((byId.get(hit.id) as VectorPoint).vector, query) >= bar) found++;
    }
    const own = data.points.find((p) => p.id.startsWith('d') && p.vector === query);
    if (own !== undefined) {
      ownQueries++;
      if (hits[0]?.id === own.id) ownFirst++;
    }
  }
  times.sort((a, b) => a - b);
  const result: Measured = {
    recall_at_10: round(found / (data.queries.length * K), 4),
    p50_ms: round(percentile(times, 50)),
    p99_ms: round(percentile(times, 99)),
  };
  if (ownQueries > 0) result.own_vector_first = `${ownFirst}/${ownQueries}`;
  return result;
}

type Opened = {
  stores: Record<'old' | 'new', VectorStore>;
  close: () => Promise<void>;
  /** Per store: filling cost (embedded only). */
  fill?: Record<'old' | 'new', { insert_ms_per_point: number; array_buffer_bytes_per_point: number }>;
};

async function compare(name: string, size: number, data: DataSet, open: (data: DataSet) => Promise<Opened>) {
  const truths = data.queries.map((q) => truth(data.points, q));
  const opened = await open(data);
  try {
    const old = await measure(opened.stores.old, 'bench', data, truths);
    const now = await measure(opened.stores.new, 'bench', data, truths);
    return {
      [`${name}_${size}`]: {
        old,
        new: now,
        ...(opened.fill ? { fill: opened.fill } : {}),
        p50_new_over_old: round(now.p50_ms / old.p50_ms, 2),
        p99_new_over_old: round(now.p99_ms / old.p99_ms, 2),
      },
    };
  } finally {
    await opened.close();
  }
}

async function fill(store: VectorStore, data: DataSet): Promise<void> {
  await store.ensureCollection('bench', DIMENSIONS);
  for (let start = 0; start < data.points.length; start += 500) {
    await store.upsert('bench', data.points.slice(start, start + 500));
  }
}

/** Two embedded stores over the same points (the tuning is the store's), one per setting. */
async function embedded(data: DataSet): Promise<Opened> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-recall-'));
  const costs: NonNullable<Opened['fill']> = {
    old: { insert_ms_per_point: 0, array_buffer_bytes_per_point: 0 },
    new: { insert_ms_per_point: 0, array_buffer_bytes_per_point: 0 },
  };
  const open = async (search: SearchTuning, which: 'old' | 'new') => {
    const store = await EmbeddedVectorStore.open({
      dir: path.join(dir, which),
      search,
      saveEveryMs: 3_600_000,
    });
    gc();
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    await fill(store, data);
    gc();
    costs[which] = {
      insert_ms_per_point: round((performance.now() - started) / data.points.length, 4),
      array_buffer_bytes_per_point: Math.round(
        (process.memoryUsage().arrayBuffers - buffersBefore) / data.points.length,
      ),
    };
    return store;
  };
  const stores = {
    old: await open(HNSW_ONLY_SEARCH_TUNING, 'old'),
    new: await open(EMBEDDED_SEARCH_TUNING, 'new'),
  };
  return {
    stores,
    fill: costs,
    close: async () => {
      await stores.old.close();
      await stores.new.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One in-process PGlite database with pgvector (the embedded PostgreSQL has no pgvector), served
 * over the wire protocol to one pooled connection so that searches run in transactions as they do
 * in the apps; one table, two stores over it that differ only in search settings.
 */
async function pgvector(data: DataSet): Promise<Opened> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-recall-pg-'));
  const pg = await startPgliteSocketServer({ dataDir: dir });
  const pool = createPgPool(pg.url, { poolSize: 1 });
  const sql = poolSqlClient(pool);
  const stores = {
    old: new PgVectorStore({ sql, search: HNSW_ONLY_SEARCH_TUNING }),
    new: new PgVectorStore({ sql, search: DEFAULT_SEARCH_TUNING }),
  };
  await fill(stores.new, data);
  await sql.query('ANALYZE');
  return {
    stores,
    close: async () => {
      await pool.end();
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fake Qdrant server scores every point: this measures the adapter's requests, not Qdrant's HNSW. */
async function qdrantFake(data: DataSet): Promise<Opened> {
  const server = await startFakeQdrantServer();
  const options = { url: server.url, checkCompatibility: false };
  const stores = {
    old: new QdrantVectorStore({ ...options, search: HNSW_ONLY_SEARCH_TUNING }),
    new: new QdrantVectorStore({ ...options, search: DEFAULT_SEARCH_TUNING }),
  };
  await fill(stores.new, data);
  return { stores, close: () => server.stop() };
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = {
    dimensions: DIMENSIONS,
    k: K,
    queries: QUERIES,
    tuning: { embedded: EMBEDDED_SEARCH_TUNING, pgvector_and_qdrant: DEFAULT_SEARCH_TUNING },
  };
  const runs: [string, number[], (data: DataSet) => Promise<Opened>][] = [
    ['embedded', SIZES, embedded],
    ['pgvector_pglite', PG_SIZES, pgvector],
    ['qdrant_fake_server', [SIZES[0] as number], qdrantFake],
  ];
  // BENCH_RECALL_STORES="embedded,pgvector_pglite" runs only those.
  const only = process.env.BENCH_RECALL_STORES?.split(',');
  for (const [store, storeSizes, open] of runs.filter(([store]) => only?.includes(store) ?? true)) {
    let figures: Record<string, unknown> = {};
    for (const size of storeSizes) {
      figures = { ...figures, ...(await compare('ordinary', size, ordinary(size), open)) };
      figures = { ...figures, ...(await compare('duplicate_heavy', size, duplicateHeavy(size), open)) };
      process.stderr.write(`bench:recall: ${store} ${size} done\n`);
    }
    result[store] = figures;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:recall: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
