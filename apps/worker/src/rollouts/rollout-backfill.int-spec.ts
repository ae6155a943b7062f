import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the pgvector store is driven on in-process PostgreSQL with pgvector
import { PGlite } from '@electric-sql/pglite';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the pgvector store is driven on in-process PostgreSQL with pgvector
import { vector as pgvector } from '@electric-sql/pglite-pgvector';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig, redisUrlOf, type Config } from '@tributary/config';
import {
  CollectionRepository,
  DbModule,
  ItemVectorRepository,
  PrismaService,
  RolloutRepository,
} from '@tributary/db';
import { Metrics } from '@tributary/observability';
import {
  backfillQueueName,
  EmbedQueues,
  QueueModule,
  type Job,
  type RolloutBackfillData,
} from '@tributary/queue';
import { createRedis, redisKeys, type Redis } from '@tributary/redis';
import {
  createTestDatabase,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import {
  EmbeddedVectorStore,
  IndexLogConsumer,
  itemPayload,
  PgVectorStore,
  QdrantVectorStore,
  startFakeQdrantServer,
  type VectorPoint,
  type VectorStore,
  type VectorWriter,
  type WriteContext,
} from '@tributary/vector-store';
import { ModelHeartbeat } from '../heartbeat/model-heartbeat.service';
import { WorkerEngine } from '../embedding/worker-engine';
import { streamWithQueuedItems } from '../testing/stream-fixture';
import { WORKER_REDIS } from '../worker-redis';
import { KindStage } from '@tributary/kind-stage';
import { RolloutBackfillHandler } from './rollout-backfill.handler';

const FROM = 'use-lite@1';
const TO = 'use-lite-int8@1';
/** More than two pages of BACKFILL_PAGE_SIZE (128). */
const ITEMS = 300;

/**
 * A store's writer as the handler sees it, counting upserts; `failOn` makes the nth upsert throw
 * once (the store down for a moment), before anything reached the store.
 */
class FlakyWriter implements VectorWriter {
  upserts = 0;
  failOn: number | undefined;
  constructor(readonly inner: VectorWriter) {}
  get kind() {
    return this.inner.kind;
  }
  ensureCollection(key: string, dimensions: number) {
    return this.inner.ensureCollection(key, dimensions);
  }
  upsert(key: string, points: VectorPoint[], context?: WriteContext) {
    this.upserts += 1;
    if (this.upserts === this.failOn) return Promise.reject(new Error('store unavailable'));
    return this.inner.upsert(key, points, context);
  }
  delete(key: string, ids: string[], context?: WriteContext) {
    return this.inner.delete(key, ids, context);
  }
  close() {
    return this.inner.close();
  }
}

/** One vector store the backfill writes through, and the store its candidate's points end in. */
interface StoreUnderTest {
  /** The handler, opened with its writer wrapped in a FlakyWriter. */
  handler: RolloutBackfillHandler;
  writer: FlakyWriter;
  /** Where the points are read back (for `embedded`, the store the index log is applied to). */
  reader: VectorStore;
  /** Resolves once every write to the version up to PostgreSQL's version is in `reader`. */
  settled(storeKey: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * RolloutBackfill with the real int8 model against each vector store's writer: the embedded store's
 * index log (applied by an IndexLogConsumer to an EmbeddedVectorStore), pgvector on PGlite, and
 * Qdrant through the fake Qdrant REST server. Real PostgreSQL and Redis.
 */
describe('RolloutBackfill into every vector store (real model, PostgreSQL, Redis)', () => {
  let db: TestDatabase;
  let module: TestingModule;
  let config: Config;
  let redis: Redis;
  let prisma: PrismaService;
  let rollouts: RolloutRepository;
  let collections: CollectionRepository;
  /** Tenants are named uniquely across the stores. */
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniqueRedisPrefix(),
      LOG_LEVEL: 'error',
      NODE_ENV: 'test',
      DATA_DIR: '.data',
      MODELS: `${FROM},${TO}`,
      WORKER_QUEUES: backfillQueueName(TO),
      INFERENCE_SESSIONS: '1',
      INFERENCE_INTRA_OP_THREADS: '1',
      DATABASE_POOL_SIZE: '6',
    });
    // The handler and what it needs, without a WorkerHost: the spec delivers the jobs itself.
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule, QueueModule.forRoot({ clientName: 'test' })],
      providers: [
        { provide: Metrics, useFactory: () => new Metrics('worker') },
        { provide: WORKER_REDIS, useFactory: () => createRedis(redisUrlOf(config), 'worker', 'worker') },
        ModelHeartbeat,
        WorkerEngine,
        KindStage,
      ],
    }).compile();
    await module.init();
    redis = module.get(WORKER_REDIS);
    prisma = module.get(PrismaService);
    rollouts = module.get(RolloutRepository);
    collections = module.get(CollectionRepository);
    // One engine for the file: the handlers of the stores share it (as a worker's handlers do).
    await module.get(WorkerEngine).acquire([TO]);
  }, 60_000);

  afterAll(async () => {
    await module?.get(WorkerEngine).release();
    redis?.disconnect();
    await module?.close();
    await db?.drop();
  });

  /** A handler for this store's config, opened on the candidate's queue, its writer wrapped. */
  async function openHandler(storeConfig: Config, replace?: VectorWriter) {
    const handler = new RolloutBackfillHandler(
      storeConfig,
      redis,
      prisma,
      rollouts,
      module.get(ItemVectorRepository),
      collections,
      module.get(EmbedQueues),
      module.get(WorkerEngine),
      module.get(Metrics),
      module.get(KindStage),
    );
    await handler.open([{ name: backfillQueueName(TO), family: 'backfill', model: TO }]);
    // The handler's own writer (openVectorWriter's pick for the config), or the given one, wrapped.
    const slot = handler as unknown as { writer: VectorWriter };
    const writer = new FlakyWriter(replace ?? slot.writer);
    slot.writer = writer;
    return { handler, writer };
  }

  const stores: [string, () => Promise<StoreUnderTest>][] = [
    [
      'embedded (index log applied by IndexLogConsumer)',
      async () => {
        const { handler, writer } = await openHandler(config);
        const dir = await mkdtemp(path.join(tmpdir(), 'tributary-backfill-'));
        const metrics = new Metrics('api');
        const logKey = redisKeys(config.REDIS_PREFIX).indexLog;
        const reader = await EmbeddedVectorStore.open({
          dir,
          source: {
            // PostgreSQL as the API's rebuild source; a rebuild is counted and must not happen here.
            async collections() {
              return (await collections.versionsAcrossTenants()).map((r) => ({
                key: r.storeKey,
                dimensions: r.dimensions,
                version: r.version,
              }));
            },
            version: (key) => collections.versionByStoreKey(key),
            async *points(key) {
              for await (const page of collections.vectorsByStoreKey(key))
                yield page.map((p) => ({ id: p.itemId, vector: p.vector, payload: itemPayload(p) }));
            },
          },
        });
        const consumer = new IndexLogConsumer({
          redisUrl: redisUrlOf(config),
          logKey,
          position: await IndexLogConsumer.tail(redis, logKey),
          checkEveryMs: 60_000,
          store: reader,
          metrics,
          logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
        });
        consumer.start();
        return {
          handler,
          writer,
          reader,
          async settled(storeKey) {
            const target = BigInt((await collections.versionByStoreKey(storeKey)) ?? '0');
            await waitUntil(
              `the index log applied up to version ${target} of ${storeKey}`,
              () => Promise.resolve(consumer.appliedVersion(storeKey) >= target),
              30_000,
              20,
            );
            const rebuilds = await metrics.indexRebuilds.get();
            expect(rebuilds.values.reduce((sum, v) => sum + v.value, 0)).toBe(0);
          },
          async close() {
            await handler.close();
            await consumer.stop();
            await reader.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    ],
    [
      'pgvector (on PGlite)',
      async () => {
        // In-process PostgreSQL with pgvector, as the vector-store contract suite opens it: the test
        // server has no pgvector, so the points go here while the rest of the SQL stays on it.
        const pg = await PGlite.create({ extensions: { vector: pgvector } });
        const reader = new PgVectorStore({ sql: pg, schema: 'vectors_backfill' });
        const { handler, writer } = await openHandler(
          { ...config, VECTOR_STORE: 'pgvector' },
          new PgVectorStore({ sql: pg, schema: 'vectors_backfill' }),
        );
        return {
          handler,
          writer,
          reader,
          settled: () => Promise.resolve(),
          async close() {
            await handler.close();
            await reader.close();
            await pg.close();
          },
        };
      },
    ],
    [
      'qdrant (fake Qdrant REST server)',
      async () => {
        const server = await startFakeQdrantServer();
        const { handler, writer } = await openHandler({
          ...config,
          VECTOR_STORE: 'qdrant',
          QDRANT_URL: server.url,
        });
        const reader = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
        return {
          handler,
          writer,
          reader,
          settled: () => Promise.resolve(),
          async close() {
            await handler.close();
            await reader.close();
            await server.stop();
          },
        };
      },
    ],
  ];

  describe.each(stores)('%s', (_name, open) => {
    let store: StoreUnderTest;

    beforeAll(async () => {
      store = await open();
    }, 120_000);
    afterAll(() => store?.close());

    /** A collection of `ITEMS` stored items and a rollout of it to the int8 model. */
    async function rolloutOf(name: string) {
      n += 1;
      const ids = Array.from({ length: ITEMS }, (_, i) => `item-${String(i).padStart(4, '0')}`);
      const stream = await streamWithQueuedItems(module, `${name}-${n}`, ids);
      const { storeKey } = await prisma.collection.findUniqueOrThrow({ where: { id: stream.collectionId } });
      const rollout = await rollouts.create({
        tenantId: stream.tenantId,
        collectionId: stream.collectionId,
        to: { model: TO, dimensions: 512, storeKey: `${storeKey}--int8` },
        mode: 'canary',
        trafficPercent: 0,
        actor: 'admin',
      });
      const candidate = await prisma.collectionVersion.findUniqueOrThrow({
        where: { id: rollout.toVersionId },
      });
      // A shared store's delete needs the collection there (the API's delete is told when it is not).
      await store.writer.inner.ensureCollection(candidate.storeKey, 512);
      const job = (attemptsMade = 0) =>
        ({
          data: { tenantId: stream.tenantId, rolloutId: rollout.id },
          attemptsMade,
          opts: { attempts: 5 },
        }) as unknown as Job<RolloutBackfillData>;
      return { stream, rollout, candidate, ids, job };
    }

    /** Deletes an item as the API does: the point goes from the candidate's index in the delete's transaction. */
    const deleteItem = (
      stream: { tenantId: string; collectionId: string },
      storeKey: string,
      itemId: string,
    ) =>
      collections.deleteFromCollection(stream.tenantId, stream.collectionId, itemId, (versions) =>
        store.writer.inner.delete(storeKey, [itemId], { versions }),
      );

    /** Deliveries of the job until one says the backfill is done (each works a slice of a few seconds). */
    async function deliverUntilDone(job: () => Job<RolloutBackfillData>) {
      for (let i = 0; i < 20; i++) if ((await store.handler.handle(job())).done) return;
      throw new Error('the backfill did not finish in 20 deliveries');
    }

    /** The rollout ended ready with exactly one point and one item_vector row per live item. */
    async function expectComplete(
      rollout: { id: string; toVersionId: string },
      storeKey: string,
      live: string[],
      gone: string[],
    ) {
      const row = await prisma.rollout.findUniqueOrThrow({ where: { id: rollout.id } });
      expect(row).toMatchObject({ state: 'ready', backfillDone: live.length, backfillTotal: live.length });
      const vectors = await prisma.itemVector.findMany({
        where: { versionId: rollout.toVersionId },
        select: { itemId: true, vector: true },
      });
      expect(vectors.map((v) => v.itemId).sort()).toEqual([...live].sort());
      expect(vectors.every((v) => v.vector.byteLength === 512 * 4)).toBe(true);
      await store.settled(storeKey);
      expect((await store.reader.info(storeKey))?.count).toBe(live.length);
      // The index holds none of the deleted items and every live one (delete answers how many existed).
      if (gone.length > 0) expect(await store.reader.delete(storeKey, gone)).toBe(0);
      expect(await store.reader.delete(storeKey, live)).toBe(live.length);
    }

    it('backfills a collection into the candidate: ready, one point and one row per live item, deleted items skipped', async () => {
      const { stream, rollout, candidate, ids, job } = await rolloutOf('full');
      // Deleted after the start (counted in the total) and before any page read them.
      const gone = [ids[3]!, ids[200]!];
      for (const id of gone) await deleteItem(stream, candidate.storeKey, id);
      // Once written, a delete in a later page's range: the page skips the item.
      const before = store.writer.upserts;
      const later = ids[290]!;
      let deletion: Promise<unknown> | undefined;
      const inner = store.writer.upsert.bind(store.writer);
      store.writer.upsert = async (key, points, context) => {
        await inner(key, points, context);
        // Not awaited here: the delete waits for this page's transaction (it holds the version).
        deletion ??= deleteItem(stream, candidate.storeKey, later);
      };
      try {
        await deliverUntilDone(job);
      } finally {
        store.writer.upsert = inner;
      }
      await deletion;
      expect(store.writer.upserts - before).toBeGreaterThanOrEqual(3);
      const live = ids.filter((id) => !gone.includes(id) && id !== later);
      const row = await prisma.rollout.findUniqueOrThrow({ where: { id: rollout.id } });
      expect(row.state).toBe('ready');
      // The item deleted mid-run was read by no page (it sorts after the first), so the count is exact.
      await expectComplete(rollout, candidate.storeKey, live, [...gone, later]);
    }, 180_000);

    it('resumes from the cursor after a delivery that threw mid-way: no duplicate, no gap', async () => {
      const { rollout, candidate, ids, job } = await rolloutOf('resume');
      store.writer.failOn = store.writer.upserts + 2;
      try {
        await expect(store.handler.handle(job())).rejects.toThrow('store unavailable');
      } finally {
        store.writer.failOn = undefined;
      }
      // The first page committed, the second rolled back whole.
      const after = await prisma.rollout.findUniqueOrThrow({ where: { id: rollout.id } });
      expect(after).toMatchObject({ state: 'backfilling', backfillDone: 128, backfillCursorItem: ids[127] });
      expect(await prisma.itemVector.count({ where: { versionId: rollout.toVersionId } })).toBe(128);
      await deliverUntilDone(() => job(1));
      await expectComplete(rollout, candidate.storeKey, ids, []);
    }, 180_000);

    it('ends the same with two deliveries of the job at once (the optimistic cursor)', async () => {
      const { rollout, candidate, ids, job } = await rolloutOf('twice');
      await Promise.all([store.handler.handle(job()), store.handler.handle(job())]);
      await deliverUntilDone(job);
      await expectComplete(rollout, candidate.storeKey, ids, []);
    }, 180_000);
  });
});
