import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { ItemIngestRepository } from './item-ingest.repository';
import { ItemQueueRepository } from './item-queue.repository';

describe('ItemIngestRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let ingest: ItemIngestRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    ingest = fx.module.get(ItemIngestRepository);
  });
  afterAll(() => fx.close());

  const item = (id: string) => ({ id, text: `text of ${id}`, metadata: null, occurredAt: null });

  it('stores new ids only, and lists those not yet confirmed in the queue', async () => {
    const s = await fx.streamWithQueuedItems('new', ['queued']);
    expect(
      await ingest.insertNew(s.tenantId, s.id, 'use-lite@1', [item('queued'), item('p1'), item('p2')]),
    ).toEqual(['p1', 'p2']);
    expect(await ingest.insertNew(s.tenantId, s.id, 'use-lite@1', [item('p1')])).toEqual([]);
    const pending = await ingest.pending(s.tenantId, s.id, ['queued', 'p1', 'p2', 'missing']);
    expect(pending.map((p) => p.id).sort()).toEqual(['p1', 'p2']);
    expect(pending[0]).toEqual({
      id: expect.any(String),
      text: expect.any(String),
      retries: 0,
      acceptedAt: expect.any(Date),
    });
  });

  it('counts the lag of a tenant and of a model', async () => {
    const a = await fx.streamWithQueuedItems('lag-a', ['1', '2', '3']);
    const before = await ingest.lags(a.tenantId, 'use-lite@1');
    expect(before.tenant).toBe(3);
    const b = await fx.streamWithQueuedItems('lag-b', ['1', '2']);
    // The model's figure spans every tenant (the queue is shared); the tenant's only its own.
    expect(await ingest.lags(a.tenantId, 'use-lite@1')).toEqual({ tenant: 3, model: before.model + 2 });
    expect((await ingest.lags(b.tenantId, 'use-lite@1')).tenant).toBe(2);
    expect((await ingest.lags(a.tenantId, 'other-model@1')).model).toBe(0);
  });

  it("with another tenant's id stores nothing into the stream and reads none of its items", async () => {
    const s = await fx.streamWithQueuedItems('scoped', []);
    const other = await fx.streamWithQueuedItems('scoped-other', []);
    expect(await ingest.insertNew(other.tenantId, s.id, 'use-lite@1', [item('x')])).toEqual([]);
    expect(await fx.prisma.item.count({ where: { streamId: s.id } })).toBe(0);

    expect(await ingest.insertNew(s.tenantId, s.id, 'use-lite@1', [item('x')])).toEqual(['x']);
    expect(await ingest.pending(other.tenantId, s.id, ['x'])).toEqual([]);
    expect((await ingest.pending(s.tenantId, s.id, ['x'])).map((p) => p.id)).toEqual(['x']);
    // Nor does queueing it under another tenant count it.
    expect(
      await fx.module.get(ItemQueueRepository).markQueued(other.tenantId, s.id, [{ id: 'x', jobId: 'j' }]),
    ).toBe(0);
    expect(await fx.counters(s.id)).toEqual({ accepted: 0, embedded: 0, failed: 0 });
  });
});
