import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig, type Config } from '@tributary/config';
import { DbModule, ItemEmbeddingRepository, PrismaService, WatchRepository } from '@tributary/db';
import { EmbeddingEngine, engineOptionsFromConfig, type InputType } from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import type { Job, CollectionJobData } from '@tributary/queue';
import { createTestDatabase, testRedisUrl, uniqueRedisPrefix, type TestDatabase } from '@tributary/testing';
import type { WorkerEngine } from '../embedding/worker-engine';
import { streamWithQueuedItems } from '../testing/stream-fixture';
import { EmbeddingSelfCheckHandler } from './self-check.handler';

const MODEL = 'use-lite@1';
const OTHER = 'use-lite-int8@1';

type Engine = Pick<EmbeddingEngine, 'model' | 'tokenizeEach' | 'embedRows'>;

/**
 * EmbeddingSelfCheck against real PostgreSQL and the real models: a collection embedded by
 * use-lite@1 as the worker stores it, then checked by the handler with the pipeline as it is, with
 * a tokenizer whose normalisation changed, with another artifact behind the model's name, and
 * after a stored vector was corrupted.
 */
describe('EmbeddingSelfCheck (real PostgreSQL, real models)', () => {
  let db: TestDatabase;
  let module: TestingModule;
  let config: Config;
  let env: Record<string, string>;
  let engine: EmbeddingEngine;
  let tenantId: string;
  let collectionId: string;
  let streamId: string;
  const ids = Array.from({ length: 30 }, (_, i) => `item-${i}`);

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniqueRedisPrefix(),
      LOG_LEVEL: 'error',
      NODE_ENV: 'test',
      DATA_DIR: '.data',
      MODELS: `${MODEL},${OTHER}`,
      SELF_CHECK_SAMPLE: '100',
    };
    config = loadConfig(env);
    engine = await EmbeddingEngine.start(engineOptionsFromConfig(config, [MODEL, OTHER]));
    module = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), DbModule] }).compile();
    await module.init();
    // Stored as the worker stores them: the engine's vectors of the stored texts (punctuated, with digits).
    const stream = await streamWithQueuedItems(module, 'checked', ids);
    streamId = stream.id;
    tenantId = stream.tenantId;
    collectionId = stream.collectionId;
    const texts = ids.map((id) => `text of ${id}`);
    const vectors = await engine.embedRows(MODEL, engine.tokenize(MODEL, texts).rows, Date.now() + 60_000);
    await module
      .get(ItemEmbeddingRepository)
      .writeEmbedded(ids.map((itemId, i) => ({ tenantId, streamId, itemId, vector: vectors[i]! })));
  }, 120_000);
  afterAll(async () => {
    await module?.close();
    await engine?.close();
    await db?.drop();
  });

  /** The handler with `pipeline` as the worker's engine. */
  async function check(pipeline: Engine, settings: Record<string, string> = {}) {
    const engines = {
      acquire: () => Promise.resolve(pipeline as EmbeddingEngine),
      release: () => Promise.resolve(),
    } as unknown as WorkerEngine;
    const handler = new EmbeddingSelfCheckHandler(
      loadConfig({ ...env, ...settings }),
      module.get(WatchRepository),
      engines,
      new Metrics('worker'),
    );
    await handler.open([{ name: 'selfcheck-use-lite-1', family: 'selfcheck', model: MODEL }]);
    const job = { id: `job-${Math.random()}`, data: { tenantId, collectionId } } as Job<CollectionJobData>;
    const outcome = await handler.handle(job);
    if ('skipped' in outcome) throw new Error(outcome.skipped);
    return outcome;
  }

  it('passes an unchanged pipeline, every input reproduced', async () => {
    const outcome = await check(engine);
    expect(outcome).toMatchObject({ sampled: 30, passed: true, threshold: 0.999, belowShare: 0 });
    expect(outcome.minCosine).toBeGreaterThan(0.99999);
    const [latest] = await module.get(WatchRepository).selfChecks(tenantId, collectionId, 1);
    expect(latest).toMatchObject({ sampled: 30, passed: true });
  });

  it('flags a tokenizer whose normalisation changed (punctuation and digits now stripped)', async () => {
    const changed: Engine = {
      model: (id) => engine.model(id),
      embedRows: (...args) => engine.embedRows(...args),
      tokenizeEach: (id: string, texts: readonly string[], inputType?: InputType) =>
        engine.tokenizeEach(
          id,
          texts.map((t) => t.replace(/[^a-z ]/gi, '')),
          inputType,
        ),
    };
    const outcome = await check(changed);
    expect(outcome.passed).toBe(false);
    expect(outcome.belowShare).toBe(1);
    expect(outcome.minCosine).toBeLessThan(0.999);
  });

  // use-lite's int8 artifact is close to the fp32 one (their vectors agree to about 0.9992 on these
  // texts): under the default 0.999 a swap between the two passes, so this check is set to 0.9999,
  // which an unchanged fp32 pipeline still clears (above 0.99999, the first case).
  it('flags another artifact behind the model’s name (the int8 weights serving use-lite@1, at 0.9999)', async () => {
    const swapped: Engine = {
      model: (id) => engine.model(id),
      tokenizeEach: (id, texts, inputType) => engine.tokenizeEach(id, texts, inputType),
      embedRows: (_id, rows, deadline, owner, priority) =>
        engine.embedRows(OTHER, rows, deadline, owner, priority),
    };
    const outcome = await check(swapped, { SELF_CHECK_MIN_COSINE: '0.9999' });
    expect(outcome.passed).toBe(false);
    expect(outcome.threshold).toBe(0.9999);
    expect(outcome.minCosine).toBeLessThan(0.9999);
    // A near miss, not garbage: the same model's weights, close on every input. How close varies
    // with how the engine batched the inputs (int8's dynamic quantization rounds activations per
    // batch): in CI runs the worst input came out at 0.985 and the mean at 0.989.
    expect(outcome.meanCosine).toBeGreaterThan(0.95);
    expect(outcome.minCosine).toBeGreaterThan(0.9);
    expect(outcome.worst).toHaveLength(10);
  });

  it('names a corrupted stored vector as the worst input, the others reproduced', async () => {
    const prisma = module.get(PrismaService);
    const noise = Buffer.alloc(512 * 4);
    for (let i = 0; i < 512; i++) noise.writeFloatLE(i % 3 ? 0.0441 : -0.0441, i * 4);
    await prisma.sql.query(`UPDATE item SET vector = $1 WHERE stream_id = $2::uuid AND id = 'item-11'`, [
      noise,
      streamId,
    ]);
    const outcome = await check(engine);
    expect(outcome.passed).toBe(false);
    expect(outcome.worst[0]!.itemId).toBe('item-11');
    expect(outcome.worst[1]!.cosine).toBeGreaterThan(0.9999);
    expect(outcome.belowShare).toBeCloseTo(1 / 30, 6);
  });
});
