// npm run bench:kinds — the stream kinds' figures, measured in one run on this machine with the
// default model (use-lite@1) on the real platform (API, one worker, PostgreSQL, Redis):
// - per kind (text, conversation, document: sentences of many documents in turn, and documents
//   sent whole): items/min from POST /items until searchable (and, for the stateful kinds, every
//   derived vector written), and the platform's CPU per item by process;
// - the state update's CPU per item, measured on its own: the kind's items copied, batch by batch
//   in arrival order, into a stream of the same kind with their vectors (as the worker leaves them),
//   and the stage run on each batch in this process as the worker runs it; counted: this process
//   and PostgreSQL while the stage runs (not the copies), Redis and the API (which indexes the
//   derived points) over the whole replay. As a share of the kind's pipeline CPU per item and of
//   the embedding's alone (the engine embedding the same texts), whose 10 % it should stay under;
//   also without the derived points' indexing (the search space's own cost, like any index's).
// - the pipeline's CPU per item beyond a text stream's (text measured before and after the kinds:
//   their spread is this machine's noise, which this difference is no finer than).
// Messages of BENCH_CONVERSATIONS conversations (documents: sentences of BENCH_DOCUMENTS) arrive
// interleaved, as many conversations go on at once: a batch holds many groups. One JSON object.
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, loadConfig } from '@tributary/config';
import { CollectionRepository, createPgPool, DbModule, PrismaService } from '@tributary/db';
import { KindStage } from '@tributary/kind-stage';
import { Metrics } from '@tributary/observability';
import { createRedis } from '@tributary/redis';
import { waitUntil } from '@tributary/testing';
import { openVectorWriter } from '@tributary/vector-store';
import {
  api,
  cpuSeconds,
  cpuSecondsOf,
  cpuUsed,
  engineRun,
  ingestSearchable,
  prepareModels,
  round,
  startBenchPlatform,
  tweet,
  waitForQuiet,
  workerSettings,
  type BenchPlatform,
} from './support';

const MODEL = 'use-lite@1';
const ITEMS = Number(process.env['BENCH_ITEMS'] ?? 5_000);
const CONVERSATIONS = Number(process.env['BENCH_CONVERSATIONS'] ?? 500);
const DOCUMENTS = Number(process.env['BENCH_DOCUMENTS'] ?? 250);

type Kind = 'text' | 'conversation' | 'document';

/** Sentences a document has in the `document-whole` run (its sentences sent one after another). */
const SENTENCES = Math.max(1, Math.round(ITEMS / DOCUMENTS));

/** The runs: a stream of each kind, its items' fields, and how many derived vectors it ends with. */
const SCENARIOS: Record<
  string,
  {
    kind: Kind;
    stream: Record<string, unknown>;
    fields: (i: number) => Record<string, unknown>;
    derived: number;
  }
> = {
  text: { kind: 'text', stream: { kind: 'text' }, fields: () => ({}), derived: 0 },
  // Many conversations at once: a batch holds one or two messages of each.
  conversation: {
    kind: 'conversation',
    stream: { kind: 'conversation', settings: { contextWindow: 5, decay: 1 } },
    fields: (i) => ({ conversationId: `c${i % CONVERSATIONS}`, sequence: Math.floor(i / CONVERSATIONS) }),
    derived: ITEMS,
  },
  // Many documents at once, a sentence of each in turn: every batch pools each document again.
  document: {
    kind: 'document',
    stream: { kind: 'document', settings: { temperature: 0.1 } },
    fields: (i) => ({ documentId: `d${i % DOCUMENTS}`, sequence: Math.floor(i / DOCUMENTS) }),
    derived: DOCUMENTS,
  },
  // Documents sent whole, sentence after sentence: a batch pools a few documents.
  'document-whole': {
    kind: 'document',
    stream: { kind: 'document', settings: { temperature: 0.1 } },
    fields: (i) => ({ documentId: `d${Math.floor(i / SENTENCES)}`, sequence: i % SENTENCES }),
    derived: Math.ceil(ITEMS / SENTENCES),
  },
  'text-again': { kind: 'text', stream: { kind: 'text' }, fields: () => ({}), derived: 0 },
};

/** The worker's micro-batch (BATCH_MAX_SIZE × 4 by default): what one stage call is handed. */
const STAGE_BATCH = 128;

/** Per-process CPU ms per item, and their sum. */
function perItem(used: Record<string, number>, items: number) {
  const parts = Object.fromEntries(
    Object.entries(used).map(([name, seconds]) => [name, round((seconds * 1000) / items, 4)]),
  );
  return { parts, total: (Object.values(used).reduce((a, b) => a + b, 0) * 1000) / items };
}

/** A kind's stream run end to end: items/min and CPU per item, once its derived vectors are all written. */
async function runKind(
  platform: BenchPlatform,
  name: string,
  derived: (streamId: string) => Promise<number>,
) {
  const scenario = SCENARIOS[name]!;
  const { base, key, cpu } = platform;
  const stream = (await api(base, 'POST', '/v1/streams', key, { name, collection: name, ...scenario.stream }))
    .body as { id: string };
  const searchable = async () =>
    ((await api(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters as { searchable: number })
      .searchable;
  await waitForQuiet(cpu);
  const before = cpu();
  const started = process.hrtime.bigint();
  await ingestSearchable({
    base,
    key,
    streamId: stream.id,
    count: ITEMS,
    text: (i) => `${tweet(i)} ${name}`,
    searchable,
    already: 0,
    fields: scenario.fields,
  });
  await waitUntil(
    `the ${name} stream's derived vectors`,
    async () => (await derived(stream.id)) >= scenario.derived,
    600_000,
    100,
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await waitForQuiet(cpu);
  const { bench: _client, ...used } = cpuUsed(cpu(), before);
  return { streamId: stream.id, itemsPerMin: (ITEMS / seconds) * 60, cpu: perItem(used, ITEMS) };
}

async function main(): Promise<void> {
  await prepareModels();
  const platform = await startBenchPlatform({
    bench: 'bench:kinds',
    adminKey: 'trb_admin_bench-kinds-key-0123456789',
    env: { MODELS: MODEL },
    workerEnv: workerSettings({ MODELS: MODEL, WORKER_QUEUES: 'all' }),
  });
  const pool = createPgPool(platform.databaseUrl);
  try {
    const derived = async (streamId: string) => {
      const { rows } = await pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM derived_vector WHERE stream_id = $1::uuid',
        [streamId],
      );
      return rows[0]!.n;
    };
    // Warm the worker up (its first items load and warm the model).
    await warmUp(platform);
    const runs: { name: string; kind: Kind; run: Awaited<ReturnType<typeof runKind>> }[] = [];
    for (const name of Object.keys(SCENARIOS))
      runs.push({ name, kind: SCENARIOS[name]!.kind, run: await runKind(platform, name, derived) });
    const state = await replayStages(platform, pool, runs);
    const engine = await engineRun(
      workerSettings({ MODELS: MODEL }),
      MODEL,
      Array.from({ length: ITEMS }, (_, i) => `${tweet(i)} engine`),
    );
    const texts = runs.filter((r) => r.kind === 'text').map((r) => r.run.cpu.total);
    const text = texts.reduce((a, b) => a + b, 0) / texts.length;
    process.stdout.write(
      `${JSON.stringify(
        {
          bench: 'kinds',
          model: MODEL,
          items: ITEMS,
          conversations: CONVERSATIONS,
          documents: DOCUMENTS,
          database: platform.database,
          engine_cpu_ms_per_item: round(engine.cpuMsPerItem, 4),
          engine_items_per_min: round(engine.itemsPerMin),
          text_pipeline_cpu_ms_per_item_runs: texts.map((t) => round(t, 4)),
          kinds: Object.fromEntries(
            runs.map(({ name, kind, run }) => {
              const extra = run.cpu.total - text;
              return [
                name,
                {
                  items_per_min: round(run.itemsPerMin),
                  pipeline_cpu_ms_per_item: round(run.cpu.total, 4),
                  pipeline_cpu_ms_per_item_by_part: run.cpu.parts,
                  ...(kind === 'text'
                    ? {}
                    : {
                        pipeline_cpu_ms_per_item_over_text: round(extra, 4),
                        state_update_cpu_ms_per_item: round(state[name]!.total, 4),
                        state_update_cpu_ms_per_item_by_part: state[name]!.parts,
                        state_update_share_of_pipeline_cpu: round(state[name]!.total / run.cpu.total, 4),
                        state_update_share_of_embedding_cpu: round(
                          state[name]!.total / engine.cpuMsPerItem,
                          4,
                        ),
                        state_update_without_indexing_share_of_embedding_cpu: round(
                          (state[name]!.total - state[name]!.parts['api']!) / engine.cpuMsPerItem,
                          4,
                        ),
                      }),
                },
              ];
            }),
          ),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await pool.end();
    await platform.close();
  }
}

/**
 * The state update alone, per stateful kind (see the header): its items copied in arrival order,
 * STAGE_BATCH at a time, into a new stream of the kind (and its own collection), the stage run on
 * each batch here. Returns CPU ms per item by part (`stage`: this process).
 */
async function replayStages(
  platform: BenchPlatform,
  pool: ReturnType<typeof createPgPool>,
  runs: { name: string; kind: Kind; run: { streamId: string } }[],
): Promise<Record<string, ReturnType<typeof perItem>>> {
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: platform.databaseUrl,
    REDIS_URL: platform.redisUrl,
    MODELS: MODEL,
    LOG_LEVEL: 'error',
  });
  @Module({
    imports: [ConfigModule.forRoot(config), DbModule],
    providers: [{ provide: Metrics, useFactory: () => new Metrics('bench') }, KindStage],
  })
  class StageModule {}
  const context = await NestFactory.createApplicationContext(StageModule, { logger: ['error'] });
  const redis = createRedis(platform.redisUrl, 'producer', 'bench:kinds');
  const out: Record<string, ReturnType<typeof perItem>> = {};
  try {
    const stage = context.get(KindStage);
    const writer = openVectorWriter(config, {
      sql: context.get(PrismaService).sql,
      redis,
      versions: context.get(CollectionRepository).versions,
      metrics: context.get(Metrics),
    });
    for (const { name, kind, run } of runs) {
      if (kind === 'text') continue;
      const copy = (
        await api(platform.base, 'POST', '/v1/streams', platform.key, {
          name: `${name}-replay`,
          collection: `${name}-replay`,
          ...SCENARIOS[name]!.stream,
        })
      ).body as { id: string };
      const { rows } = await pool.query<{ id: string; storeKey: string; dimensions: number }>(
        `SELECT v.id, v.store_key AS "storeKey", v.dimensions FROM stream s
         JOIN collection c ON c.id = s.collection_id JOIN collection_version v ON v.store_key = c.store_key
         WHERE s.id = $1::uuid`,
        [copy.id],
      );
      const target = { tenantId: platform.tenantId, version: rows[0]!, writer };
      await waitForQuiet(platform.cpu);
      const apiBefore = cpuSeconds(platform.apiProcess.pid);
      const redisBefore = cpuSecondsOf(/^\S*redis-server/);
      let stageSeconds = 0;
      let postgresSeconds = 0;
      for (let at = 0; at < ITEMS; at += STAGE_BATCH) {
        const ids = Array.from({ length: Math.min(STAGE_BATCH, ITEMS - at) }, (_, k) => `i${at + k}`);
        await pool.query(
          `INSERT INTO item (stream_id, id, tenant_id, text, metadata, group_id, sequence, status, model, vector, embedded_at)
           SELECT $1::uuid, id, tenant_id, text, metadata, group_id, sequence, status, model, vector, now()
           FROM item WHERE stream_id = $2::uuid AND id = ANY($3::text[])`,
          [copy.id, run.streamId, ids],
        );
        // This process's CPU around the stage call alone (the /proc reads for PostgreSQL's outside it).
        const postgres = cpuSecondsOf(/(^|\/)postgres\b/);
        const started = process.cpuUsage();
        await stage.afterChange(
          target,
          ids.map((itemId) => ({ streamId: copy.id, itemId })),
        );
        const used = process.cpuUsage(started);
        postgresSeconds += cpuSecondsOf(/(^|\/)postgres\b/) - postgres;
        stageSeconds += (used.user + used.system) / 1e6;
      }
      // The API applies the derived points from the index log after the stage appended them.
      await waitForQuiet(platform.cpu);
      out[name] = perItem(
        {
          stage: stageSeconds,
          postgres: postgresSeconds,
          redis: cpuSecondsOf(/^\S*redis-server/) - redisBefore,
          api: cpuSeconds(platform.apiProcess.pid) - apiBefore,
        },
        ITEMS,
      );
    }
  } finally {
    redis.disconnect();
    await context.close();
  }
  return out;
}

/** One item through a throwaway stream, so the first kind's figures do not pay the model's warm-up. */
async function warmUp(platform: BenchPlatform): Promise<void> {
  const { base, key } = platform;
  const stream = (await api(base, 'POST', '/v1/streams', key, { name: 'warm', kind: 'text' })).body as {
    id: string;
  };
  await api(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
    items: [{ id: 'warm', text: 'warm up' }],
  });
  await waitUntil(
    'the worker to warm up',
    async () =>
      ((await api(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters as { searchable: number })
        .searchable === 1,
    120_000,
    100,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:kinds failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
