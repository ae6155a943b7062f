// npm run bench:index — what the embedded store's index work costs the caller's event loop, in
// process (EmbeddedVectorStore) and on a worker thread (ThreadedEmbeddedVectorStore), measured in
// one run on the same points: the longest the loop went without running a timer during each
// upsert of 256 points of 512 dimensions into a collection growing to 100,000 points, and during a
// save of those 100,000 points (the graph, the float32 vectors, the sidecar, checksummed); the
// search latency (k = 10, from the call to the answer) on the full collection, idle and while a
// save runs. Prints one JSON object, ratios threaded/direct beside the figures.
// BENCH_INDEX_POINTS (default 100000) and BENCH_INDEX_SAVES (default 3) change the sizes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  EmbeddedVectorStore,
  maxLoopDelayDuring,
  randomVectors,
  ThreadedEmbeddedVectorStore,
  type EmbeddedStore,
  type VectorPoint,
} from '@tributary/vector-store';

const DIMENSIONS = 512;
const BATCH = 256;
const POINTS = Number(process.env.BENCH_INDEX_POINTS ?? 100_000);
const SAVES = Number(process.env.BENCH_INDEX_SAVES ?? 3);
const QUERIES = 500;
const KEY = 'bench';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
const round = (n: number, digits = 3) => Number(n.toFixed(digits));
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    max_ms: round(sorted.at(-1) as number),
  };
};

interface Measured {
  upsert_loop_delay: ReturnType<typeof summary>;
  upsert_batch: ReturnType<typeof summary>;
  save_loop_delay: ReturnType<typeof summary>;
  save: ReturnType<typeof summary>;
  search: ReturnType<typeof summary>;
  search_during_save: ReturnType<typeof summary>;
}

async function searchTimes(store: EmbeddedStore, queries: Float32Array[]): Promise<number[]> {
  const times: number[] = [];
  for (const vector of queries) {
    const started = performance.now();
    await store.search(KEY, { vector, k: 10 });
    times.push(performance.now() - started);
  }
  return times;
}

async function measure(
  store: EmbeddedStore,
  points: VectorPoint[],
  queries: Float32Array[],
): Promise<Measured> {
  await store.ensureCollection(KEY, DIMENSIONS);
  const delays: number[] = [];
  const batches: number[] = [];
  for (let start = 0; start < points.length; start += BATCH) {
    const batch = points.slice(start, start + BATCH);
    const started = performance.now();
    delays.push(await maxLoopDelayDuring(() => store.upsert(KEY, batch)));
    batches.push(performance.now() - started);
    if ((start / BATCH) % 40 === 0)
      process.stderr.write(`[bench:index] ${store.constructor.name}: ${start} points\n`);
  }
  await store.flush();
  const saveDelays: number[] = [];
  const saves: number[] = [];
  const during: number[] = [];
  for (let i = 0; i < SAVES; i++) {
    // One changed point makes the collection due for a full save.
    await store.upsert(KEY, [points[i] as VectorPoint]);
    const started = performance.now();
    saveDelays.push(await maxLoopDelayDuring(() => store.flush()));
    saves.push(performance.now() - started);
    // A save with searches arriving meanwhile, one after another.
    await store.upsert(KEY, [points[i] as VectorPoint]);
    let saving = true;
    const flushed = store.flush().finally(() => (saving = false));
    for (let q = 0; saving; q++) {
      // Each as its own macrotask, as requests arrive: the save's I/O callbacks run in between.
      await new Promise((resolve) => setImmediate(resolve));
      during.push(...(await searchTimes(store, [queries[q % queries.length] as Float32Array])));
    }
    await flushed;
  }
  return {
    upsert_loop_delay: summary(delays),
    upsert_batch: summary(batches),
    save_loop_delay: summary(saveDelays),
    save: summary(saves),
    search: summary(await searchTimes(store, queries)),
    search_during_save: summary(during),
  };
}

async function main(): Promise<void> {
  const vectors = randomVectors(POINTS, DIMENSIONS, 11);
  const points = vectors.map((vector, i): VectorPoint => ({
    id: `p${i}`,
    vector,
    payload: { i, tag: `t${i % 10}` },
  }));
  const queries = randomVectors(QUERIES, DIMENSIONS, 12);
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-bench-index-'));
  try {
    const run = async (open: (dir: string) => Promise<EmbeddedStore>, name: string) => {
      const store = await open(path.join(dir, name));
      try {
        return await measure(store, points, queries);
      } finally {
        await store.close();
      }
    };
    const direct = await run((d) => EmbeddedVectorStore.open({ dir: d, saveEveryMs: 3_600_000 }), 'direct');
    const threaded = await run(
      (d) => ThreadedEmbeddedVectorStore.open({ dir: d, saveEveryMs: 3_600_000 }),
      'threaded',
    );
    const ratio = (pick: (m: Measured) => number) => round(pick(threaded) / pick(direct), 3);
    const result = {
      points: POINTS,
      dimensions: DIMENSIONS,
      batch: BATCH,
      saves: SAVES,
      queries: QUERIES,
      direct,
      threaded,
      threaded_over_direct: {
        upsert_max_loop_delay: ratio((m) => m.upsert_loop_delay.max_ms),
        upsert_p50_loop_delay: ratio((m) => m.upsert_loop_delay.p50_ms),
        upsert_batch_p50: ratio((m) => m.upsert_batch.p50_ms),
        save_max_loop_delay: ratio((m) => m.save_loop_delay.max_ms),
        save_p50: ratio((m) => m.save.p50_ms),
        search_p50: ratio((m) => m.search.p50_ms),
        search_p99: ratio((m) => m.search.p99_ms),
        search_during_save_p99: ratio((m) => m.search_during_save.p99_ms),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
