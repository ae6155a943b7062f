import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { ItemIngestRepository } from './item-ingest.repository';
import { ItemQueueRepository } from './item-queue.repository';

describe('ItemQueueRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let queue: ItemQueueRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    queue = fx.module.get(ItemQueueRepository);
  });
  afterAll(() => fx.close());

  const item = (id: string) => ({ id, text: `text of ${id}`, metadata: null, occurredAt: null });

  async function jobOf(streamId: string, id: string) {
    const row = await fx.prisma.item.findUniqueOrThrow({ where: { streamId_id: { streamId, id } } });
    return { status: row.status, jobId: row.jobId };
  }

  /** Pretends the items were put on the queue ten minutes ago. */
  async function age(streamId: string) {
    await fx.prisma.sql.query(
      `UPDATE item SET enqueued_at = now() - interval '10 minutes' WHERE stream_id = $1::uuid`,
      [streamId],
    );
  }

  it('confirms each item once, whatever races, keeping an embedded status', async () => {
    const s = await fx.streamWithQueuedItems('confirm', []);
    await fx.module
      .get(ItemIngestRepository)
      .insertNew(s.tenantId, s.id, 'use-lite@1', [item('a'), item('b'), item('c')]);
    await fx.module
      .get(ItemEmbeddingRepository)
      .writeEmbedded([{ tenantId: s.tenantId, streamId: s.id, itemId: 'c', vector: new Float32Array(4) }]);
    const racing = await Promise.all(
      [1, 2, 3].map((n) =>
        queue.markQueued(s.tenantId, s.id, [
          { id: 'a', jobId: `j${n}` },
          { id: 'b', jobId: `j${n}` },
          { id: 'c', jobId: `j${n}` },
        ]),
      ),
    );
    expect(racing.reduce((sum, n) => sum + n, 0)).toBe(3);
    expect((await fx.counters(s.id)).accepted).toBe(3);
    expect((await jobOf(s.id, 'a')).status).toBe('queued');
    expect((await jobOf(s.id, 'c')).status).toBe('embedded');
  });

  it('finds the items queued too long, records their new jobs, and tells which are still queued', async () => {
    const s = await fx.streamWithQueuedItems('sweep', ['a', 'b', 'c', 'd']);
    expect(await queue.queuedBefore(s.tenantId, s.id, 60_000, 10)).toEqual([]);
    await age(s.id);
    const first = await queue.queuedBefore(s.tenantId, s.id, 60_000, 2);
    expect(first).toEqual([
      {
        id: 'a',
        text: 'text of a',
        retries: 0,
        acceptedAt: expect.any(Date),
        jobId: 'job-a',
        model: 'use-lite@1',
      },
      {
        id: 'b',
        text: 'text of b',
        retries: 0,
        acceptedAt: expect.any(Date),
        jobId: 'job-b',
        model: 'use-lite@1',
      },
    ]);
    expect((await queue.queuedBefore(s.tenantId, s.id, 60_000, 2, 'b')).map((i) => i.id)).toEqual(['c', 'd']);
    expect((await queue.streamsWithLagAcrossTenants()).find((l) => l.id === s.id)).toEqual({
      id: s.id,
      tenantId: s.tenantId,
      collectionId: s.collectionId,
      model: 'use-lite@1',
    });

    const embedding = fx.module.get(ItemEmbeddingRepository);
    const at = { tenantId: s.tenantId, streamId: s.id, itemId: 'd' };
    await embedding.writeEmbedded([{ ...at, vector: new Float32Array(4) }]);
    // Written, not yet indexed: still work to do (the sweep sends it again when its job is gone).
    expect([...(await queue.stillQueued(s.tenantId, s.id, ['a', 'd', 'missing']))].sort()).toEqual([
      'a',
      'd',
    ]);
    await embedding.countEmbedded([at]);
    expect([...(await queue.stillQueued(s.tenantId, s.id, ['a', 'd', 'missing']))]).toEqual(['a']);
    await queue.recordRequeued(s.tenantId, s.id, [
      { id: 'a', jobId: 'job-a.r1' },
      { id: 'd', jobId: 'job-d.r1' },
    ]);
    expect(await jobOf(s.id, 'a')).toEqual({ status: 'queued', jobId: 'job-a.r1' });
    // An item no longer queued keeps its job; a requeued one restarts its orphan clock.
    expect(await jobOf(s.id, 'd')).toEqual({ status: 'embedded', jobId: 'job-d' });
    expect((await queue.queuedBefore(s.tenantId, s.id, 60_000, 10)).map((i) => i.id)).toEqual(['b', 'c']);
  });

  it("with another tenant's id confirms, finds and records nothing", async () => {
    const s = await fx.streamWithQueuedItems('scoped', ['a']);
    const other = await fx.streamWithQueuedItems('scoped-other', []);
    await fx.module.get(ItemIngestRepository).insertNew(s.tenantId, s.id, 'use-lite@1', [item('new')]);
    await age(s.id);

    expect(await queue.markQueued(other.tenantId, s.id, [{ id: 'new', jobId: 'j' }])).toBe(0);
    expect(await jobOf(s.id, 'new')).toEqual({ status: 'pending', jobId: null });
    expect(await fx.counters(s.id)).toEqual({ accepted: 1, embedded: 0, failed: 0 });
    expect(await queue.queuedBefore(other.tenantId, s.id, 60_000, 10)).toEqual([]);
    expect(await queue.stillQueued(other.tenantId, s.id, ['a'])).toEqual(new Set());
    await queue.recordRequeued(other.tenantId, s.id, [{ id: 'a', jobId: 'stolen' }]);
    expect(await jobOf(s.id, 'a')).toEqual({ status: 'queued', jobId: 'job-a' });
    expect((await queue.queuedBefore(s.tenantId, s.id, 60_000, 10)).map((i) => i.id)).toEqual(['a']);
  });
});
