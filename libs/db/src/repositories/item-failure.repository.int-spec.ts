import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { ItemFailureRepository } from './item-failure.repository';

describe('ItemFailureRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let failures: ItemFailureRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    failures = fx.module.get(ItemFailureRepository);
  });
  afterAll(() => fx.close());

  it('lists failed items a page at a time, in id order, with their reason codes', async () => {
    const s = await fx.streamWithQueuedItems('pages', ['c', 'a', 'b', 'ok']);
    const embedding = fx.module.get(ItemEmbeddingRepository);
    for (const id of ['c', 'a', 'b']) await embedding.markFailed(s.tenantId, s.id, id, 'empty_text');
    const first = await failures.failures(s.tenantId, s.id, 2);
    expect(first.map((f) => f.id)).toEqual(['a', 'b']);
    expect(first[0]).toEqual({ id: 'a', reason: 'empty_text', retries: 0, acceptedAt: expect.any(Date) });
    expect((await failures.failures(s.tenantId, s.id, 2, 'b')).map((f) => f.id)).toEqual(['c']);
    // Only the ones named are retried.
    expect((await failures.retryFailed(s.tenantId, s.id, ['b', 'ok'])).map((r) => r.id)).toEqual(['b']);
    expect(await fx.counters(s.id)).toEqual({ accepted: 4, embedded: 0, failed: 2 });
  });

  it("with another tenant's id lists nothing and retries nothing", async () => {
    const s = await fx.streamWithQueuedItems('scoped', ['f']);
    const other = await fx.streamWithQueuedItems('scoped-other', []);
    await fx.module.get(ItemEmbeddingRepository).markFailed(s.tenantId, s.id, 'f', 'empty_text');

    expect(await failures.failures(other.tenantId, s.id, 10)).toEqual([]);
    expect(await failures.retryFailed(other.tenantId, s.id, undefined)).toEqual([]);
    expect(await failures.retryFailed(other.tenantId, s.id, ['f'])).toEqual([]);
    expect(await fx.counters(s.id)).toEqual({ accepted: 1, embedded: 0, failed: 1 });
    expect((await failures.failures(s.tenantId, s.id, 10)).map((f) => [f.id, f.retries])).toEqual([['f', 0]]);
  });
});
