import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the pgvector store is driven on in-process PostgreSQL with pgvector
import { PGlite } from '@electric-sql/pglite';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the pgvector store is driven on in-process PostgreSQL with pgvector
import { vector as pgvector } from '@electric-sql/pglite-pgvector';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { createTestDatabase, DbModule, PrismaService, spaceStoreKey, type TestDatabase } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import { attentionPool, contextVector } from '@tributary/stream-kinds';
import {
  EmbeddedVectorStore,
  groupFromPayload,
  PgVectorStore,
  QdrantVectorStore,
  startFakeQdrantServer,
  type VectorStore,
} from '@tributary/vector-store';
import { KindStage } from './kind-stage';

const DIMS = 8;

/** Seeded unit vectors (a linear congruential generator: the spec needs variety, not quality). */
function unitVectors(count: number, seed: number): Float32Array[] {
  let state = seed;
  const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: DIMS }, next);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

/**
 * The stream kinds' stage on real PostgreSQL, writing into each vector store (the embedded store,
 * pgvector on PGlite, Qdrant through the fake REST server): conversation context vectors and
 * document vectors derived from stored item vectors, their points in each store's space index,
 * found by the derived vector, and recomputed after a delete. The numerics are the library's
 * (golden-tested there); here the plumbing: which items a change touches, what is stored and indexed.
 */
describe('KindStage (real PostgreSQL, every vector store)', () => {
  let db: TestDatabase;
  let module: TestingModule;
  let prisma: PrismaService;
  let stage: KindStage;
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    const config = loadConfig({ DATABASE_URL: db.url, DATABASE_POOL_SIZE: '4' });
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule],
      providers: [{ provide: Metrics, useFactory: () => new Metrics('worker') }, KindStage],
    }).compile();
    await module.init();
    prisma = module.get(PrismaService);
    stage = module.get(KindStage);
  }, 60_000);
  afterAll(async () => {
    await module?.close();
    await db?.drop();
  });

  /** A tenant's stream of a kind into its collection (one serving version), items stored embedded. */
  async function streamOf(kind: 'conversation' | 'document', settings: Record<string, number>) {
    n += 1;
    const tenant = await prisma.tenant.create({
      data: { name: `kinds-${n}`, rateLimitPerSecond: 1, rateLimitBurst: 1 },
    });
    const storeKey = `t-${n}--kinds`;
    const collection = await prisma.collection.create({
      data: {
        tenantId: tenant.id,
        name: 'kinds',
        model: 'use-lite@1',
        dimensions: DIMS,
        storeKey,
        versions: { create: { tenantId: tenant.id, model: 'use-lite@1', dimensions: DIMS, storeKey } },
      },
      include: { versions: true },
    });
    const stream = await prisma.stream.create({
      data: {
        tenantId: tenant.id,
        name: 'kinds',
        kind,
        settings,
        model: 'use-lite@1',
        collectionId: collection.id,
        webhookSecret: 'whsec_test',
      },
    });
    const version = { id: collection.versions[0]!.id, storeKey, dimensions: DIMS };
    const store = async (items: { id: string; group: string; sequence: number; vector: Float32Array }[]) => {
      await prisma.item.createMany({
        data: items.map((i) => ({
          streamId: stream.id,
          id: i.id,
          tenantId: tenant.id,
          text: `text of ${i.id}`,
          groupId: i.group,
          sequence: i.sequence,
          status: 'embedded' as const,
          model: 'use-lite@1',
          vector: new Uint8Array(i.vector.slice().buffer),
        })),
      });
    };
    return { tenantId: tenant.id, streamId: stream.id, version, store };
  }

  const stores: [string, () => Promise<{ store: VectorStore; close(): Promise<void> }>][] = [
    [
      'embedded',
      async () => {
        const dir = await mkdtemp(path.join(tmpdir(), 'tributary-kinds-'));
        const store = await EmbeddedVectorStore.open({ dir });
        return {
          store,
          async close() {
            await store.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    ],
    [
      'pgvector (on PGlite)',
      async () => {
        const pg = await PGlite.create({ extensions: { vector: pgvector } });
        const store = new PgVectorStore({ sql: pg, schema: 'vectors_kinds' });
        return {
          store,
          async close() {
            await store.close();
            await pg.close();
          },
        };
      },
    ],
    [
      'qdrant (fake server)',
      async () => {
        const server = await startFakeQdrantServer();
        const store = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
        return {
          store,
          async close() {
            await store.close();
            await server.stop();
          },
        };
      },
    ],
  ];

  describe.each(stores)('%s', (_name, open) => {
    let store: VectorStore;
    let opened: { store: VectorStore; close(): Promise<void> };
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(() => opened.close());

    it('indexes each message’s context over its last messages, recomputing those a late message or a delete touches', async () => {
      const s = await streamOf('conversation', { contextWindow: 3, decay: 0.5 });
      const vectors = unitVectors(6, n);
      const message = (i: number) => ({ id: `m${i}`, group: 'c1', sequence: i * 10, vector: vectors[i]! });
      const target = { tenantId: s.tenantId, version: s.version, writer: store };
      const key = spaceStoreKey(s.version.storeKey, 'context');
      const expectContexts = async (present: number[]) => {
        const rows = await prisma.derivedVector.findMany({ where: { streamId: s.streamId } });
        expect(rows.map((r) => r.key).sort()).toEqual(present.map((i) => `m${i}`).sort());
        for (const [at, i] of present.entries()) {
          const window = present.slice(Math.max(0, at - 2), at + 1).map((j) => vectors[j]!);
          const expected = contextVector(window, 0.5);
          const hits = await store.search(key, { vector: expected, k: 1 });
          expect(hits[0]!.id).toBe(`m${i}`);
          expect(hits[0]!.score).toBeGreaterThan(0.9999);
          expect(groupFromPayload(hits[0]!.payload)).toEqual({ groupId: 'c1', members: window.length });
        }
        expect((await store.info(key))?.count).toBe(present.length);
      };

      // Messages 0, 1, 3, 4, 5 arrive; then 2, late, between them.
      await s.store([0, 1, 3, 4, 5].map(message));
      await stage.afterChange(
        target,
        [0, 1, 3, 4, 5].map((i) => ({ streamId: s.streamId, itemId: `m${i}` })),
      );
      await expectContexts([0, 1, 3, 4, 5]);
      const before = await prisma.derivedVector.findMany({ where: { streamId: s.streamId } });
      await s.store([message(2)]);
      await stage.afterChange(target, [{ streamId: s.streamId, itemId: 'm2' }]);
      await expectContexts([0, 1, 2, 3, 4, 5]);
      // Only the contexts that hold message 2 (its own and the next two) were written again.
      const after = await prisma.derivedVector.findMany({ where: { streamId: s.streamId } });
      const rewritten = after
        .filter((r) => before.find((b) => b.key === r.key)?.updatedAt.getTime() !== r.updatedAt.getTime())
        .map((r) => r.key)
        .sort();
      expect(rewritten).toEqual(['m2', 'm3', 'm4']);

      // A delete: message 3 leaves; its own context goes, the next two are recomputed.
      await prisma.item.update({
        where: { streamId_id: { streamId: s.streamId, id: 'm3' } },
        data: { status: 'deleted' },
      });
      await stage.afterChange(target, [{ streamId: s.streamId, itemId: 'm3' }]);
      await expectContexts([0, 1, 2, 4, 5]);
    });

    it('a worker that read a conversation before another wrote to it cannot overwrite the other’s contexts', async () => {
      const s = await streamOf('conversation', { contextWindow: 4, decay: 0.8 });
      const vectors = unitVectors(12, n + 50);
      const half = (parity: number) =>
        vectors.flatMap((vector, i) =>
          i % 2 === parity ? [{ id: `m${i}`, group: 'c', sequence: i, vector }] : [],
        );
      const staged = (parity: number) => half(parity).map((m) => ({ streamId: s.streamId, itemId: m.id }));
      // Worker A read the even messages only and is about to publish; it waits there until worker B,
      // which stored the odd ones meanwhile, either finished (no lock: B's contexts would then be
      // overwritten by A's, computed without the odd messages) or waits for A's lock.
      let inside!: () => void;
      const aInside = new Promise<void>((resolve) => (inside = resolve));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const held: VectorStore['upsert'] = async (key, points) => {
        inside();
        await gate;
        return store.upsert(key, points);
      };
      const writerA = {
        kind: store.kind,
        ensureCollection: (key: string, dimensions: number) => store.ensureCollection(key, dimensions),
        upsert: held,
        delete: (key: string, ids: string[]) => store.delete(key, ids),
        close: () => Promise.resolve(),
      };
      await s.store(half(0));
      const a = stage.afterChange({ tenantId: s.tenantId, version: s.version, writer: writerA }, staged(0));
      await aInside;
      await s.store(half(1));
      const b = stage.afterChange({ tenantId: s.tenantId, version: s.version, writer: store }, staged(1));
      let bDone = false;
      void b.then(() => (bDone = true));
      // Polls PostgreSQL (no fixed sleep) until B is done or one of this database's sessions waits
      // on an advisory lock.
      for (const deadline = Date.now() + 10_000; !bDone;) {
        const { rows } = await prisma.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        if (rows[0]!.n > 0) break;
        if (Date.now() > deadline) throw new Error('worker B neither finished nor waited for the lock');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      release();
      await Promise.all([a, b]);
      const rows = await prisma.derivedVector.findMany({ where: { streamId: s.streamId } });
      expect(rows).toHaveLength(12);
      for (const row of rows) {
        const at = Number(row.key.slice(1));
        const expected = contextVector(vectors.slice(Math.max(0, at - 3), at + 1), 0.8);
        const stored = new Float32Array(new Uint8Array(row.vector).buffer);
        expect(Math.max(...stored.map((x, d) => Math.abs(x - expected[d]!)))).toBeLessThan(1e-6);
      }
    });

    it('indexes each document’s attention-pooled vector, the same whatever order its sentences came in', async () => {
      const s = await streamOf('document', { temperature: 0.1 });
      const vectors = unitVectors(5, n + 100);
      const target = { tenantId: s.tenantId, version: s.version, writer: store };
      const key = spaceStoreKey(s.version.storeKey, 'documents');
      const sentence = (i: number) => ({ id: `d-${i}`, group: 'doc', sequence: i, vector: vectors[i]! });
      for (const batch of [[3, 0], [4], [1, 2]]) {
        await s.store(batch.map(sentence));
        await stage.afterChange(
          target,
          batch.map((i) => ({ streamId: s.streamId, itemId: `d-${i}` })),
        );
      }
      const expected = attentionPool(vectors, 0.1);
      const row = await prisma.derivedVector.findUniqueOrThrow({
        where: {
          spaceId_streamId_key: {
            spaceId: (await prisma.spaceIndex.findFirstOrThrow({ where: { storeKey: key } })).id,
            streamId: s.streamId,
            key: 'doc',
          },
        },
      });
      const stored = new Float32Array(new Uint8Array(row.vector).buffer);
      expect(Math.max(...stored.map((x, d) => Math.abs(x - expected[d]!)))).toBeLessThan(1e-6);
      expect(row.members).toBe(5);
      const hits = await store.search(key, { vector: expected, k: 1 });
      expect(hits[0]).toMatchObject({ id: 'doc' });
      expect(groupFromPayload(hits[0]!.payload)).toEqual({ groupId: 'doc', members: 5 });

      // Every sentence deleted: the document has no vector left.
      await prisma.item.updateMany({ where: { streamId: s.streamId }, data: { status: 'deleted' } });
      await stage.afterChange(target, [{ streamId: s.streamId, itemId: 'd-0' }]);
      expect(await prisma.derivedVector.count({ where: { streamId: s.streamId } })).toBe(0);
      expect((await store.info(key))?.count ?? 0).toBe(0);
    });
  });
});
