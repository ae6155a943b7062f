// npm run bench:watch — the quality watch's figures, measured in one run on this machine, on real
// vectors of the default model (use-lite@1, 512 dimensions) made by the embedding engine here:
// - drift report time (all four methods, and each alone) for 2 × 2,000 and 2 × 10,000 vectors;
// - the emerging-topic tracker's CPU per item (as the worker runs it, centroids ranked by usearch)
//   on this stream and with 200, 500 and 1,000 topics held (its bound), as a share of the pipeline's CPU per
//   item (API, worker, PostgreSQL and Redis from POST /items to searchable, measured on the real
//   platform in the same run) and of the engine's alone (the least part of the pipeline);
// - self-check throughput: stored inputs re-embedded at background priority and compared (items/s);
// - drift false-alarm and detection rates: over BENCH_TRIALS seeded trials, how often each method
//   (and the MMD permutation test at 5 %) flags two windows of one mix of subjects, a strongly
//   shifted mix, and a 10-point shift in the mix of 1,500 items a window.
// One JSON object on stdout.
import {
  benchmarkTopicTracker,
  driftReport,
  seededSample,
  TopicTracker,
  type DriftMethodName,
} from '@tributary/drift';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import { EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { loadConfig } from '@tributary/config';
import { textAbout, waitUntil } from '@tributary/testing';
import { int8CosineRanker } from '@tributary/vector-store';
import {
  api,
  cpuUsed,
  ingestSearchable,
  prepareModels,
  round,
  startBenchPlatform,
  tweet,
  waitForQuiet,
  workerSettings,
} from './support';

const MODEL = 'use-lite@1';
const ITEMS = Number(process.env['BENCH_ITEMS'] ?? 20_000);
const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 20);
const PIPELINE_ITEMS = Number(process.env['BENCH_PIPELINE_ITEMS'] ?? 5_000);
/** Topics held for the tracker's cost figures: up to its default bound, maxTopics (1,000). */
const HELD_TOPICS = [200, 500, 1_000];
const METHODS: DriftMethodName[] = ['model', 'ratio', 'distance', 'mmd'];

/** A window's mix: subject → share (the shares of a mix add up to 1). */
type Mix = Record<string, number>;

/**
 * The pairs of windows whose verdicts give the rates: the reference's mix, the current's, and the
 * rows a window. `same` must not drift; the other two should.
 */
const CONDITIONS: Record<string, { reference: Mix; current: Mix; rows: number }> = {
  same: {
    reference: { football: 0.25, weather: 0.25, stocks: 0.25, cooking: 0.25 },
    current: { football: 0.25, weather: 0.25, stocks: 0.25, cooking: 0.25 },
    rows: 1_000,
  },
  strong_shift: {
    reference: { football: 0.25, weather: 0.25, stocks: 0.25, cooking: 0.25 },
    current: { music: 0.4, travel: 0.4, football: 0.2 },
    rows: 1_000,
  },
  ten_point_shift: {
    reference: { football: 0.4, weather: 0.3, stocks: 0.3 },
    current: { football: 0.3, weather: 0.4, stocks: 0.3 },
    rows: 1_500,
  },
};

/** CPU milliseconds of this process while `work` runs, and the wall milliseconds. */
async function measured<T>(
  work: () => Promise<T> | T,
): Promise<{ result: T; cpuMs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  return { result, cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - started };
}

async function main(): Promise<void> {
  await prepareModels();
  const { perItemMs: pipelineCpuMsPerItem, parts: pipelineParts } = await pipelineCpu();
  const config = loadConfig({ ...process.env, MODELS: MODEL, EMBEDDING_CACHE_TTL_SECONDS: '0' });
  const engine = await EmbeddingEngine.start(
    engineOptionsFromConfig(config, [MODEL], undefined, 1_000_000, 'throughput'),
  );
  try {
    // Texts of a stream of tweets over a day, and their vectors: what the tracker and reports read.
    const texts = Array.from({ length: ITEMS }, (_, i) => tweet(i));
    const embed = async (batch: string[]) =>
      engine.embedRows(MODEL, engine.tokenize(MODEL, batch).rows, Date.now() + 600_000);
    await embed(texts.slice(0, 256));
    const embedded = await measured(async () => {
      const out: Float32Array[] = [];
      const chunks = Array.from({ length: Math.ceil(ITEMS / 64) }, (_, c) =>
        texts.slice(c * 64, (c + 1) * 64),
      );
      for (let at = 0; at < chunks.length; at += 8)
        for (const vectors of await Promise.all(chunks.slice(at, at + 8).map(embed))) out.push(...vectors);
      return out;
    });
    const vectors = embedded.result;
    const engineCpuMsPerItem = embedded.cpuMs / ITEMS;

    // Drift reports: the first half of the stream against the second (a report time, not a verdict).
    const half = Math.floor(ITEMS / 2);
    const drift = async (n: number) => {
      const reference = vectors.slice(0, Math.min(n, half));
      const current = vectors.slice(half, half + n);
      const figures: Record<string, number> = { n: reference.length };
      const all = await measured(() =>
        driftReport(reference, current, { seed: 7, sampleSize: n, methods: METHODS }),
      );
      figures['all_ms'] = round(all.wallMs);
      for (const method of METHODS) {
        const one = await measured(() =>
          driftReport(reference, current, { seed: 7, sampleSize: n, methods: [method] }),
        );
        figures[`${method}_ms`] = round(one.wallMs);
      }
      return figures;
    };
    const drift2k = await drift(2_000);
    const drift10k = await drift(Math.min(10_000, half));

    // The topic tracker: every item in event-time order over a day.
    const day = Date.parse('2026-11-01T00:00:00Z');
    const tracker = new TopicTracker({ dimensions: vectors[0]!.length }, { ranker: int8CosineRanker });
    const tracked = await measured(() => {
      vectors.forEach((vector, i) =>
        tracker.add({
          id: `t${i}`,
          text: texts[i]!,
          eventTime: day + Math.floor((i * 86_400_000) / ITEMS),
          vector,
        }),
      );
    });
    const trendCpuMsPerItem = tracked.cpuMs / ITEMS;
    // The same with more topics held (a stream of many subjects): its cost grows with them.
    const held = HELD_TOPICS.map((topics) => ({
      topics,
      cpuMsPerItem:
        benchmarkTopicTracker({ topics, items: 4_000, ranker: int8CosineRanker }).cpuMicrosPerItem / 1000,
    }));

    // Self-check: re-embedding 2,000 stored inputs at background priority and comparing.
    const embedder = new CachedEmbedder(engine, EmbeddingCache.off());
    const sample = texts.slice(0, 2_000);
    const checked = await measured(async () => {
      const { vectors: again } = await embedder.embed({
        model: MODEL,
        inputType: 'passage',
        inputs: sample.map((text) => ({ tenantId: 'bench', text })),
        deadline: Date.now() + 600_000,
        cacheTtlSeconds: 0,
        priority: 'background',
      });
      let dot = 0;
      again.forEach((v, i) => v!.forEach((x, k) => (dot += x * vectors[i]![k]!)));
      return dot / sample.length;
    });

    // Drift verdict rates on real vectors of texts about subjects: each trial draws both windows
    // afresh, without replacement, from a pool of texts per subject (alternate draws to either
    // window, so neither gets the pool's low or high numbers).
    const subjects = [
      ...new Set(
        Object.values(CONDITIONS).flatMap((c) => [...Object.keys(c.reference), ...Object.keys(c.current)]),
      ),
    ];
    const poolSize = Math.max(...Object.values(CONDITIONS).map((c) => c.rows)) * 2;
    const pool = new Map<string, Float32Array[]>();
    for (const subject of subjects) {
      const out: Float32Array[] = [];
      for (let at = 0; at < poolSize; at += 512) {
        const batch = Array.from({ length: Math.min(512, poolSize - at) }, (_, i) =>
          textAbout(subject, at + i),
        );
        out.push(...(await embed(batch)));
      }
      pool.set(subject, out);
    }
    const rates: Record<string, Record<string, number>> = {};
    for (const [name, condition] of Object.entries(CONDITIONS)) {
      const alarms: Record<string, number> = { report: 0, mmd_permutation_5pct: 0 };
      for (const method of METHODS) alarms[method] = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const windows = { reference: [] as Float32Array[], current: [] as Float32Array[] };
        for (const subject of subjects) {
          const want = (side: 'reference' | 'current') =>
            Math.round((condition[side][subject] ?? 0) * condition.rows);
          const drawn = seededSample(
            pool.get(subject)!,
            2 * Math.max(want('reference'), want('current')),
            trial * 7919 + subjects.indexOf(subject),
          );
          for (const side of ['reference', 'current'] as const)
            windows[side].push(
              ...drawn.filter((_, i) => i % 2 === (side === 'reference' ? 0 : 1)).slice(0, want(side)),
            );
        }
        const report = driftReport(windows.reference, windows.current, { seed: trial, methods: METHODS });
        if (report.insufficient) throw new Error(report.reason);
        if (report.drifted) alarms['report']! += 1;
        for (const method of METHODS) if (report.results[method]!.drifted) alarms[method]! += 1;
        if (report.results.mmd!.pValue! < 0.05) alarms['mmd_permutation_5pct']! += 1;
      }
      rates[name] = Object.fromEntries(Object.entries(alarms).map(([k, v]) => [k, round(v / TRIALS, 3)]));
    }

    process.stdout.write(
      `${JSON.stringify({
        model: MODEL,
        items: ITEMS,
        dimensions: vectors[0]!.length,
        drift_report_2x2000: drift2k,
        drift_report_2x10000: drift10k,
        engine_cpu_ms_per_item: round(engineCpuMsPerItem, 4),
        pipeline_cpu_ms_per_item: round(pipelineCpuMsPerItem, 4),
        pipeline_cpu_ms_per_item_by_part: pipelineParts,
        trend_cpu_ms_per_item: round(trendCpuMsPerItem, 4),
        trend_topics: tracker.size,
        trend_share_of_pipeline_cpu: round(trendCpuMsPerItem / pipelineCpuMsPerItem, 4),
        trend_share_of_engine_cpu: round(trendCpuMsPerItem / engineCpuMsPerItem, 4),
        trend_with_topics_held: held.map((h) => ({
          topics: h.topics,
          cpu_ms_per_item: round(h.cpuMsPerItem, 4),
          share_of_pipeline_cpu: round(h.cpuMsPerItem / pipelineCpuMsPerItem, 4),
          share_of_engine_cpu: round(h.cpuMsPerItem / engineCpuMsPerItem, 4),
        })),
        self_check_items_per_s: round((sample.length / checked.wallMs) * 1000),
        self_check_mean_cosine: round(checked.result, 6),
        drift_trials: TRIALS,
        // Share of trials flagged: under `same` a false-alarm rate, under the shifts a detection rate.
        drift_flag_rates: rates,
      })}\n`,
    );
  } finally {
    await engine.close();
  }
}

/**
 * The pipeline's CPU per item: PIPELINE_ITEMS tweets sent through POST /items of the real platform
 * (API, one worker, PostgreSQL, Redis) until searchable, the CPU seconds its processes used
 * (not the bench's own), per item. Measured before the engine starts, on a quiet machine.
 */
async function pipelineCpu(): Promise<{ perItemMs: number; parts: Record<string, number> }> {
  const platform = await startBenchPlatform({
    bench: 'bench:watch',
    adminKey: 'trb_admin_bench-watch-key-0123456789',
    env: { MODELS: MODEL },
    workerEnv: workerSettings({ MODELS: MODEL, WORKER_QUEUES: 'all' }),
  });
  try {
    const { base, key, cpu } = platform;
    const stream = (
      await api(base, 'POST', '/v1/streams', key, { name: 'tweets', kind: 'text', collection: 'tweets' })
    ).body as { id: string };
    const searchable = async () =>
      ((await api(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters as { searchable: number })
        .searchable;
    await api(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: [{ id: 'warm', text: 'warm up' }],
    });
    await waitUntil('the worker to warm up', async () => (await searchable()) === 1, 120_000, 100);
    await waitForQuiet(cpu);
    const before = cpu();
    await ingestSearchable({
      base,
      key,
      streamId: stream.id,
      count: PIPELINE_ITEMS,
      text: tweet,
      searchable,
      already: 1,
    });
    await waitForQuiet(cpu);
    const { bench: _client, ...used } = cpuUsed(cpu(), before);
    const parts = Object.fromEntries(
      Object.entries(used).map(([name, seconds]) => [name, round((seconds * 1000) / PIPELINE_ITEMS, 4)]),
    );
    const total = Object.values(used).reduce((a, b) => a + b, 0);
    return { perItemMs: (total * 1000) / PIPELINE_ITEMS, parts };
  } finally {
    await platform.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:watch failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
