import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { CollectionRepository } from './collection.repository';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { ItemFailureRepository } from './item-failure.repository';

/** The worker's writes on items and stream counters (real PostgreSQL). */
describe('ItemEmbeddingRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let items: ItemEmbeddingRepository;
  let collections: CollectionRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    items = fx.module.get(ItemEmbeddingRepository);
    collections = fx.module.get(CollectionRepository);
  });
  afterAll(() => fx.close());

  const vec = (...values: number[]) => Float32Array.from(values);

  it('writes each vector to its own item, exactly, and counts each item once it is indexed', async () => {
    const s = await fx.streamWithQueuedItems('write', ['a', 'b', 'c']);
    const at = { tenantId: s.tenantId, streamId: s.id };
    const written = await items.writeEmbedded([
      { ...at, itemId: 'c', vector: vec(0.5, -1, 3.25, 1e-7) },
      { ...at, itemId: 'a', vector: vec(1, 2, 3, 4) },
      { ...at, itemId: 'b', vector: vec(-0, Number.MAX_VALUE, -2.5, 0.1) },
    ]);
    expect(written.map((w) => w.itemId).sort()).toEqual(['a', 'b', 'c']);
    expect(written.find((w) => w.itemId === 'a')).toEqual({
      streamId: s.id,
      itemId: 'a',
      text: 'text of a',
      metadata: { n: 'a' },
    });
    // Written, not indexed yet: still lag, and still deletable and failable as work to do.
    expect(await fx.counters(s.id)).toEqual({ accepted: 3, embedded: 0, failed: 0 });
    await items.countEmbedded([{ ...at, itemId: 'a' }]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 3, embedded: 1, failed: 0 });
    // Written again (a retried job) and counted again: same rows, each counted once.
    await items.writeEmbedded([{ ...at, itemId: 'a', vector: vec(1, 2, 3, 4) }]);
    await items.countEmbedded(['a', 'b', 'c', 'a'].map((itemId) => ({ ...at, itemId })));
    await items.countEmbedded(['a', 'b'].map((itemId) => ({ ...at, itemId })));
    expect(await fx.counters(s.id)).toEqual({ accepted: 3, embedded: 3, failed: 0 });

    const stored = new Map<string, Float32Array>();
    for await (const page of collections.collectionVectors(s.tenantId, s.collectionId)) {
      for (const v of page) stored.set(v.itemId, v.vector);
    }
    expect(stored.get('a')).toEqual(vec(1, 2, 3, 4));
    expect(stored.get('b')).toEqual(vec(-0, Number.MAX_VALUE, -2.5, 0.1));
    expect(stored.get('c')).toEqual(vec(0.5, -1, 3.25, 1e-7));
    await expect(
      items.writeEmbedded([
        { ...at, itemId: 'a', vector: vec(1, 2, 3, 4) },
        { ...at, itemId: 'b', vector: vec(1, 2) },
      ]),
    ).rejects.toThrow('one length');
  });

  it('takes racing writes of the same items in any order without deadlock, counting each once', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `r${i}`);
    const s = await fx.streamWithQueuedItems('race', ids);
    const shuffled = (seed: number) =>
      [...ids].sort(
        (a, b) =>
          ((a.charCodeAt(1) * seed + a.length) % 7) - ((b.charCodeAt(1) * seed + b.length) % 7) ||
          (seed % 2 ? a.localeCompare(b) : b.localeCompare(a)),
      );
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) =>
        items.writeEmbedded(
          shuffled(k + 1).map((itemId) => ({
            tenantId: s.tenantId,
            streamId: s.id,
            itemId,
            vector: vec(1, 0, 0, k),
          })),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const counted = await Promise.allSettled(
      Array.from({ length: 8 }, (_, k) =>
        items.countEmbedded(
          shuffled(k + 1).map((itemId) => ({ tenantId: s.tenantId, streamId: s.id, itemId })),
        ),
      ),
    );
    expect(counted.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 200, embedded: 200, failed: 0 });
  });

  it("with another tenant's id (a corrupted job) writes and fails nothing, even in a batch with good items", async () => {
    const s = await fx.streamWithQueuedItems('scoped', ['a', 'b']);
    const other = await fx.streamWithQueuedItems('scoped-other', ['x']);
    const written = await items.writeEmbedded([
      { tenantId: other.tenantId, streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) },
      { tenantId: s.tenantId, streamId: s.id, itemId: 'b', vector: vec(0, 1, 0, 0) },
    ]);
    expect(written.map((w) => w.itemId)).toEqual(['b']);
    await items.countEmbedded([
      { tenantId: other.tenantId, streamId: s.id, itemId: 'b' },
      { tenantId: other.tenantId, streamId: s.id, itemId: 'a' },
    ]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 0, failed: 0 });
    await items.countEmbedded([{ tenantId: s.tenantId, streamId: s.id, itemId: 'b' }]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });
    const a = await fx.prisma.item.findUniqueOrThrow({ where: { streamId_id: { streamId: s.id, id: 'a' } } });
    expect({ status: a.status, vector: a.vector }).toEqual({ status: 'queued', vector: null });

    expect(await items.markFailed(other.tenantId, s.id, 'a', 'empty_text')).toBe(false);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });
    expect(await fx.module.get(ItemFailureRepository).failures(s.tenantId, s.id, 10)).toEqual([]);
    // The item's own tenant still can.
    expect(await items.markFailed(s.tenantId, s.id, 'a', 'empty_text')).toBe(true);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 1 });
  });
});
