// npm run bench:pipeline — the streaming data plane's figures, measured in one run on this machine:
// end-to-end items/minute for 50,000 tweet-length texts from REST ingest to searchable, the raw
// engine's items/minute in the same run and their ratio, ingest → searchable latency at half of
// that rate, search latency over 100,000 vectors with its recall@10 against exact (brute-force)
// search over the same vectors read back from PostgreSQL, and the peak RSS of the api and worker processes.
// Real PostgreSQL (the system's when installed; else the launcher's embedded one), real Redis, the embedded vector store.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { CollectionRepository, DbModule } from '@tributary/db';
import { ConfigModule, loadConfig } from '@tributary/config';
import { waitUntil } from '@tributary/testing';
import { runLatencyClient } from './latency';
import {
  api,
  cpuUsed,
  engineRun,
  freshness,
  ingest,
  peakRssMb,
  percentile,
  points,
  prepareModels,
  round,
  startBenchPlatform,
  tweet,
  waitForQuiet,
  workerSettings,
  type BenchPlatform,
} from './support';

const ITEMS = Number(process.env['BENCH_ITEMS'] ?? 50_000);
const SEARCH_POINTS = Number(process.env['BENCH_SEARCH_POINTS'] ?? 100_000);
const ADMIN_KEY = 'trb_admin_bench-pipeline-key-0123456789';

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

async function main(): Promise<void> {
  let platform: BenchPlatform | undefined;
  try {
    await prepareModels();
    const texts = Array.from({ length: ITEMS }, (_, i) => tweet(i));
    const worker = workerSettings({ MODELS: 'use-lite@1', WORKER_QUEUES: 'embed-use-lite-1' });
    // The engine is measured before and after the pipeline (the machine's speed drifts); the mean counts.
    const measureEngine = () => engineRun(worker, 'use-lite@1', texts.slice(0, Math.min(ITEMS, 10_000)));
    const engineRuns = [await measureEngine()];

    platform = await startBenchPlatform({
      bench: 'bench:pipeline',
      adminKey: ADMIN_KEY,
      env: { MODELS: 'use-lite@1' },
      workerEnv: worker,
    });
    const { base, key, databaseUrl, database, apiProcess, cpu } = platform;
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
    const used = Object.entries(cpuUsed(cpuAfter, cpuBefore));
    const cpuShare = Object.fromEntries(
      used.map(([name, seconds]) => [name, Number((seconds / pipelineSeconds).toFixed(2))]),
    );
    // CPU per item is steadier than rates on a shared machine: where the pipeline's time goes.
    const cpuMsPerItem = Object.fromEntries(
      used.map(([name, seconds]) => [name, Number(((seconds * 1000) / ITEMS).toFixed(3))]),
    );
    // The second engine run waits until the platform is idle (the API's last index save, the
    // database's writes), so that it is measured alone, as the first one was.
    await waitForQuiet(cpu);
    engineRuns.push(await measureEngine());
    const engineRate = engineRuns.reduce((sum, r) => sum + r.itemsPerMin, 0) / engineRuns.length;
    const engineCpuMsPerItem = engineRuns.reduce((sum, r) => sum + r.cpuMsPerItem, 0) / engineRuns.length;
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
    const latencies = await freshness({
      base,
      key,
      streamId: fresh.id,
      perSecond,
      batchSize,
      batches: Math.max(20, Math.round(20_000 / interval)),
      have: () => points(base, key, 'fresh'),
      text: (n) => `fresh ${tweet(ITEMS + n)}`,
    });

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
      platform.tenantId,
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
        worker_peak_rss_mb: peakRssMb(platform.worker.pid),
      })}\n`,
    );
  } finally {
    await platform?.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:pipeline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
