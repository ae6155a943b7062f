// npm run bench:watch — the quality watch's figures, measured in one run on this machine, on real
// vectors of the default model (use-lite@1, 512 dimensions) made by the embedding engine here:
// - drift report time (all four methods, and each alone) for 2 × 2,000 and 2 × 10,000 vectors;
// - the emerging-topic tracker's CPU per item, as a share of the engine's CPU per item embedding
//   the same texts (the engine is the least of the pipeline's CPU per item: the whole pipeline,
//   ingest to searchable, costs more, so the share against it is smaller than the one printed);
// - self-check throughput: stored inputs re-embedded at background priority and compared (items/s).
// One JSON object on stdout.
import { driftReport, TopicTracker, type DriftMethodName } from '@tributary/drift';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import { EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { loadConfig } from '@tributary/config';
import { prepareModels, round, tweet } from './support';

const MODEL = 'use-lite@1';
const ITEMS = Number(process.env['BENCH_ITEMS'] ?? 20_000);
const METHODS: DriftMethodName[] = ['model', 'ratio', 'distance', 'mmd'];

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
    const tracker = new TopicTracker({ dimensions: vectors[0]!.length });
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

    process.stdout.write(
      `${JSON.stringify({
        model: MODEL,
        items: ITEMS,
        dimensions: vectors[0]!.length,
        drift_report_2x2000: drift2k,
        drift_report_2x10000: drift10k,
        engine_cpu_ms_per_item: round(engineCpuMsPerItem, 4),
        trend_cpu_ms_per_item: round(trendCpuMsPerItem, 4),
        trend_topics: tracker.size,
        trend_share_of_engine_cpu: round(trendCpuMsPerItem / engineCpuMsPerItem, 4),
        self_check_items_per_s: round((sample.length / checked.wallMs) * 1000),
        self_check_mean_cosine: round(checked.result, 6),
      })}\n`,
    );
  } finally {
    await engine.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:watch failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
