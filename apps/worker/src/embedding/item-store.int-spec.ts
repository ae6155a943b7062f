import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { DbModule, ItemStore, PrismaService } from '@tributary/db';
import { createTestDatabase, type TestDatabase } from '@tributary/testing';
import { streamWithQueuedItems } from '../testing/stream-fixture';

/** The statements the worker and the API change items and stream counters with (real PostgreSQL). */
describe('ItemStore (real PostgreSQL)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let items: ItemStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loadConfig({ DATABASE_URL: db.url })), DbModule],
    }).compile();
    await moduleRef.init();
    prisma = moduleRef.get(PrismaService);
    items = new ItemStore(prisma.sql);
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await close();
    await db.drop();
  });

  const stream = (name: string, ids: string[]) => streamWithQueuedItems(prisma, items, name, ids, 4);

  async function counters(streamId: string) {
    const s = await prisma.stream.findUniqueOrThrow({ where: { id: streamId } });
    return {
      accepted: Number(s.acceptedCount),
      embedded: Number(s.embeddedCount),
      failed: Number(s.failedCount),
    };
  }

  const vec = (...values: number[]) => Float32Array.from(values);

  it('writes each vector to its own item, exactly, and counts each item once', async () => {
    const s = await stream('write', ['a', 'b', 'c']);
    const written = await items.writeEmbedded([
      { streamId: s.id, itemId: 'c', vector: vec(0.5, -1, 3.25, 1e-7) },
      { streamId: s.id, itemId: 'a', vector: vec(1, 2, 3, 4) },
      { streamId: s.id, itemId: 'b', vector: vec(-0, Number.MAX_VALUE, -2.5, 0.1) },
    ]);
    expect(written.map((w) => w.itemId).sort()).toEqual(['a', 'b', 'c']);
    expect(written.find((w) => w.itemId === 'a')).toEqual({
      streamId: s.id,
      itemId: 'a',
      text: 'text of a',
      metadata: { n: 'a' },
    });
    // Written again (a retried job): same rows, not counted twice.
    await items.writeEmbedded([{ streamId: s.id, itemId: 'a', vector: vec(1, 2, 3, 4) }]);
    expect(await counters(s.id)).toEqual({ accepted: 3, embedded: 3, failed: 0 });

    const stored = new Map<string, Float32Array>();
    for await (const page of items.collectionVectors(s.collectionId)) {
      for (const v of page) stored.set(v.itemId, v.vector);
    }
    expect(stored.get('a')).toEqual(vec(1, 2, 3, 4));
    expect(stored.get('b')).toEqual(vec(-0, Number.MAX_VALUE, -2.5, 0.1));
    expect(stored.get('c')).toEqual(vec(0.5, -1, 3.25, 1e-7));
    await expect(
      items.writeEmbedded([
        { streamId: s.id, itemId: 'a', vector: vec(1, 2, 3, 4) },
        { streamId: s.id, itemId: 'b', vector: vec(1, 2) },
      ]),
    ).rejects.toThrow('one length');
  });

  it('takes racing writes of the same items in any order without deadlock, counting each once', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    const s = await stream('race', ids);
    const shuffled = (seed: number) =>
      [...ids].sort(
        (a, b) =>
          ((a.charCodeAt(1) * seed + a.length) % 7) - ((b.charCodeAt(1) * seed + b.length) % 7) ||
          (seed % 2 ? a.localeCompare(b) : b.localeCompare(a)),
      );
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) =>
        items.writeEmbedded(
          shuffled(k + 1).map((itemId) => ({ streamId: s.id, itemId, vector: vec(1, 0, 0, k) })),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await counters(s.id)).toEqual({ accepted: 200, embedded: 200, failed: 0 });
  });

  it('keeps counters right through failure, retry and delete, whatever the order', async () => {
    const s = await stream('lifecycle', ['q', 'f', 'e', 'd']);
    expect(await items.markFailed(s.id, 'f', 'empty_text')).toBe(true);
    expect(await items.markFailed(s.id, 'f', 'attempts_exhausted')).toBe(false);
    await items.writeEmbedded([{ streamId: s.id, itemId: 'e', vector: vec(1, 0, 0, 0) }]);
    // An embedded item cannot fail any more.
    expect(await items.markFailed(s.id, 'e', 'attempts_exhausted')).toBe(false);
    expect(await counters(s.id)).toEqual({ accepted: 4, embedded: 1, failed: 1 });
    expect((await items.failures(s.id, 10)).map((f) => [f.id, f.reason])).toEqual([['f', 'empty_text']]);

    const retried = await items.retryFailed(s.id, undefined);
    expect(retried.map((r) => [r.id, r.retries])).toEqual([['f', 1]]);
    expect(await counters(s.id)).toEqual({ accepted: 4, embedded: 1, failed: 0 });
    expect(await items.retryFailed(s.id, ['f'])).toEqual([]);

    // Deleting: a queued item leaves the accepted count; an embedded one stays counted as embedded.
    expect(await items.markDeleted(s.collectionId, 'q')).toEqual([{ streamId: s.id, status: 'queued' }]);
    expect(await items.markDeleted(s.collectionId, 'e')).toEqual([{ streamId: s.id, status: 'embedded' }]);
    expect(await items.markDeleted(s.collectionId, 'e')).toEqual([]);
    expect(await counters(s.id)).toEqual({ accepted: 3, embedded: 1, failed: 0 });
    await items.markFailed(s.id, 'd', 'empty_text');
    expect(await items.markDeleted(s.collectionId, 'd')).toEqual([{ streamId: s.id, status: 'failed' }]);
    expect(await counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });
    // A deleted item is not written back by a late worker.
    expect(await items.writeEmbedded([{ streamId: s.id, itemId: 'q', vector: vec(0, 1, 0, 0) }])).toEqual([]);
    expect((await items.lags(s.tenantId, 'use-lite@1')).tenant).toBe(1);
  });

  it('deletes an item, bumps the collection version and removes its point in one transaction', async () => {
    const s = await stream('delete-tx', ['a', 'b']);
    const vec = (...v: number[]) => new Float32Array(v);
    await items.writeEmbedded([{ streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) }]);
    const version = async () =>
      Number((await prisma.collection.findUniqueOrThrow({ where: { id: s.collectionId } })).version);
    const before = await version();

    // Removing the point fails (Redis away, say): the item is not deleted, so a retry finds it again.
    await expect(
      items.deleteFromCollection(s.collectionId, 'a', () => Promise.reject(new Error('store down'))),
    ).rejects.toThrow('store down');
    expect(await version()).toBe(before);
    expect(await counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });

    const seen: string[] = [];
    const deleted = await items.deleteFromCollection(s.collectionId, 'a', (v) => {
      seen.push(v);
      return Promise.resolve();
    });
    expect(deleted).toEqual([{ streamId: s.id, status: 'embedded' }]);
    expect(seen).toEqual([String(before + 1)]);
    expect(await version()).toBe(before + 1);

    // Not there any more: nothing changes and no point is removed.
    expect(
      await items.deleteFromCollection(s.collectionId, 'a', () => Promise.reject(new Error('called'))),
    ).toEqual([]);
    expect(await version()).toBe(before + 1);
  });
});
