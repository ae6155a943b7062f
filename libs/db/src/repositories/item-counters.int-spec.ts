import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { CollectionRepository } from './collection.repository';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { ItemFailureRepository } from './item-failure.repository';
import { ItemIngestRepository } from './item-ingest.repository';

/** The stream counters through every repository that changes them, in any order (real PostgreSQL). */
describe('stream counters across the item repositories (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;

  beforeAll(async () => {
    fx = await openRepositories();
  });
  afterAll(() => fx.close());

  const vec = (...values: number[]) => Float32Array.from(values);

  it('keeps counters right through failure, retry and delete, whatever the order', async () => {
    const embedding = fx.module.get(ItemEmbeddingRepository);
    const failures = fx.module.get(ItemFailureRepository);
    const collections = fx.module.get(CollectionRepository);
    const s = await fx.streamWithQueuedItems('lifecycle', ['q', 'f', 'e', 'd']);
    const t = s.tenantId;
    expect(await embedding.markFailed(t, s.id, 'f', 'empty_text')).toBe(true);
    expect(await embedding.markFailed(t, s.id, 'f', 'attempts_exhausted')).toBe(false);
    await embedding.writeEmbedded([{ tenantId: t, streamId: s.id, itemId: 'e', vector: vec(1, 0, 0, 0) }]);
    await embedding.countEmbedded([{ tenantId: t, streamId: s.id, itemId: 'e' }]);
    // An embedded (and indexed) item cannot fail any more.
    expect(await embedding.markFailed(t, s.id, 'e', 'attempts_exhausted')).toBe(false);
    expect(await fx.counters(s.id)).toEqual({ accepted: 4, embedded: 1, failed: 1 });
    expect((await failures.failures(t, s.id, 10)).map((f) => [f.id, f.reason])).toEqual([
      ['f', 'empty_text'],
    ]);

    const retried = await failures.retryFailed(t, s.id, undefined);
    expect(retried.map((r) => [r.id, r.retries])).toEqual([['f', 1]]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 4, embedded: 1, failed: 0 });
    expect(await failures.retryFailed(t, s.id, ['f'])).toEqual([]);

    // Deleting: a queued item leaves the accepted count; an embedded one stays counted as embedded.
    expect(await collections.markDeleted(t, s.collectionId, 'q')).toEqual([
      { streamId: s.id, status: 'queued' },
    ]);
    expect(await collections.markDeleted(t, s.collectionId, 'e')).toEqual([
      { streamId: s.id, status: 'embedded' },
    ]);
    expect(await collections.markDeleted(t, s.collectionId, 'e')).toEqual([]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 3, embedded: 1, failed: 0 });
    await embedding.markFailed(t, s.id, 'd', 'empty_text');
    expect(await collections.markDeleted(t, s.collectionId, 'd')).toEqual([
      { streamId: s.id, status: 'failed' },
    ]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });
    // A deleted item is not written back by a late worker.
    expect(
      await embedding.writeEmbedded([{ tenantId: t, streamId: s.id, itemId: 'q', vector: vec(0, 1, 0, 0) }]),
    ).toEqual([]);
    expect((await fx.module.get(ItemIngestRepository).lags(t, 'use-lite@1')).tenant).toBe(1);
  });

  it('treats an item written but not indexed (its worker stopped in between) as work still to do', async () => {
    const embedding = fx.module.get(ItemEmbeddingRepository);
    const collections = fx.module.get(CollectionRepository);
    const s = await fx.streamWithQueuedItems('unindexed', ['w', 'x', 'y']);
    const t = s.tenantId;
    const write = (itemId: string) =>
      embedding.writeEmbedded([{ tenantId: t, streamId: s.id, itemId, vector: vec(1, 0, 0, 0) }]);
    await Promise.all(['w', 'x', 'y'].map(write));
    expect(await fx.counters(s.id)).toEqual({ accepted: 3, embedded: 0, failed: 0 });
    // Deleted before it was counted: it leaves the accepted counter, so it is not lag for ever.
    await collections.markDeleted(t, s.collectionId, 'w');
    // Out of attempts before it was indexed: failed for good, like a queued one.
    expect(await embedding.markFailed(t, s.id, 'x', 'attempts_exhausted')).toBe(true);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 0, failed: 1 });
    // Counting after a delete or failure counts nothing; the indexed one is counted.
    await embedding.countEmbedded(['w', 'x', 'y'].map((itemId) => ({ tenantId: t, streamId: s.id, itemId })));
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 1 });
  });
});
