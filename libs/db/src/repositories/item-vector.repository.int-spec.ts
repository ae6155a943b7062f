import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { CollectionRepository } from './collection.repository';
import { ItemEmbeddingRepository, type WrittenItem } from './item-embedding.repository';
import { ItemVectorRepository } from './item-vector.repository';
import { RolloutRepository } from './rollout.repository';
import { StreamRepository } from './stream.repository';

const TO = 'use-lite-int8@1';

/** ItemVectorRepository.write and the reads of a version's vectors, on real PostgreSQL. */
describe('ItemVectorRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let vectors: ItemVectorRepository;
  let collections: CollectionRepository;
  let rollouts: RolloutRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    vectors = fx.module.get(ItemVectorRepository);
    collections = fx.module.get(CollectionRepository);
    rollouts = fx.module.get(RolloutRepository);
  });
  afterAll(() => fx.close());

  const vec = (...v: number[]) => new Float32Array(v);
  const noPublish = () => Promise.resolve();

  /** A collection with the items, and a rollout's candidate version to write into. */
  async function withCandidate(name: string, ids: string[]) {
    const s = await fx.streamWithQueuedItems(name, ids);
    const rollout = await rollouts.create({
      tenantId: s.tenantId,
      collectionId: s.collectionId,
      to: { model: TO, dimensions: 4, storeKey: `${s.collection.storeKey}--int8` },
      mode: 'canary',
      trafficPercent: 0,
      actor: 'admin',
    });
    const candidate = await fx.prisma.collectionVersion.findUniqueOrThrow({
      where: { id: rollout.toVersionId },
    });
    return { s, rollout, candidate };
  }

  const rowsOf = async (versionId: string) =>
    (
      await fx.prisma.itemVector.findMany({
        where: { versionId },
        orderBy: [{ streamId: 'asc' }, { itemId: 'asc' }],
      })
    ).map((r) => ({
      itemId: r.itemId,
      vector: [...new Float32Array(r.vector.buffer.slice(r.vector.byteOffset, r.vector.byteOffset + 16))],
    }));
  const pointsVersion = async (versionId: string) =>
    Number((await fx.prisma.collectionVersion.findUniqueOrThrow({ where: { id: versionId } })).version);
  const setStatus = (streamId: string, id: string, status: 'deleted' | 'failed') =>
    fx.prisma.item.update({ where: { streamId_id: { streamId, id } }, data: { status } });

  /** Polls PostgreSQL (no fixed sleep) until one of this database's sessions waits on a lock. */
  async function someoneWaitsOnALock(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await fx.prisma.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      if (rows[0]!.n > 0) return;
      if (Date.now() > deadline) throw new Error('no session came to wait on a lock');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('writes one row per item, and a second write of an item updates its row', async () => {
    const { s, candidate } = await withCandidate('write', ['a', 'b']);
    const written = await vectors.write(
      s.tenantId,
      candidate.id,
      [
        { streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) },
        { streamId: s.id, itemId: 'b', vector: vec(0, 1, 0, 0) },
      ],
      noPublish,
    );
    expect(written.sort((x, y) => x.itemId.localeCompare(y.itemId))).toEqual([
      { streamId: s.id, itemId: 'a', text: 'text of a', metadata: { n: 'a' } },
      { streamId: s.id, itemId: 'b', text: 'text of b', metadata: { n: 'b' } },
    ]);
    await vectors.write(
      s.tenantId,
      candidate.id,
      [{ streamId: s.id, itemId: 'a', vector: vec(0, 0, 1, 0) }],
      noPublish,
    );
    expect(await rowsOf(candidate.id)).toEqual([
      { itemId: 'a', vector: [0, 0, 1, 0] },
      { itemId: 'b', vector: [0, 1, 0, 0] },
    ]);
  });

  it("skips deleted and failed items, another tenant's, another collection's, and a retired version", async () => {
    const { s, rollout, candidate } = await withCandidate('skips', ['live', 'gone', 'bad']);
    await setStatus(s.id, 'gone', 'deleted');
    await setStatus(s.id, 'bad', 'failed');
    const stranger = await fx.streamWithQueuedItems('skips-stranger', ['x']);
    // The same tenant's stream into another collection.
    const sibling = await fx.module.get(StreamRepository).create(s.tenantId, {
      name: 'skips-sibling',
      kind: 'text',
      model: 'use-lite@1',
      collection: 'skips-sibling',
      dimensions: 4,
      storeKey: `${s.tenantId}--skips-sibling`,
      webhookSecret: 'whsec_test',
    });
    await fx.prisma.item.create({
      data: {
        streamId: sibling.id,
        tenantId: s.tenantId,
        id: 'y',
        text: 'text of y',
        model: 'use-lite@1',
        status: 'queued',
      },
    });
    const published: WrittenItem[][] = [];
    const publish = (written: WrittenItem[]) => Promise.resolve(void published.push(written));
    const input = [
      { streamId: s.id, itemId: 'live', vector: vec(1, 0, 0, 0) },
      { streamId: s.id, itemId: 'gone', vector: vec(1, 0, 0, 0) },
      { streamId: s.id, itemId: 'bad', vector: vec(1, 0, 0, 0) },
      { streamId: stranger.id, itemId: 'x', vector: vec(1, 0, 0, 0) },
      { streamId: sibling.id, itemId: 'y', vector: vec(1, 0, 0, 0) },
    ];
    const written = await vectors.write(s.tenantId, candidate.id, input, publish);
    expect(written.map((w) => w.itemId)).toEqual(['live']);
    expect(published.map((p) => p.map((w) => w.itemId))).toEqual([['live']]);
    expect((await rowsOf(candidate.id)).map((r) => r.itemId)).toEqual(['live']);

    // The stranger's tenant writing into this tenant's version: nothing, not even its own item.
    expect(await vectors.write(stranger.tenantId, candidate.id, input, publish)).toEqual([]);

    // Retired (rolled back): nothing is written and nothing published.
    await rollouts.rollback(s.tenantId, s.collectionId, rollout.id, 'admin');
    expect(await vectors.write(s.tenantId, candidate.id, input, publish)).toEqual([]);
    expect(published).toHaveLength(1);
    // Only the row written before the retirement, until the rollout sweep purges it.
    expect((await rowsOf(candidate.id)).map((r) => r.itemId)).toEqual(['live']);
    await rollouts.purgeRetiredVectors(100);
    expect(await fx.prisma.itemVector.count({ where: { versionId: candidate.id } })).toBe(0);
  });

  it("publishes exactly the written items with that version's next version, and rolls back with a rejected publish", async () => {
    const { s, candidate } = await withCandidate('publish', ['a', 'b', 'c']);
    await setStatus(s.id, 'c', 'deleted');
    const before = await pointsVersion(candidate.id);
    const servingBefore = await collections.versionByStoreKey(s.collection.storeKey);
    const seen: { ids: string[]; version: string }[] = [];
    await vectors.write(
      s.tenantId,
      candidate.id,
      ['a', 'b', 'c'].map((itemId) => ({ streamId: s.id, itemId, vector: vec(1, 1, 0, 0) })),
      (written, versions) =>
        versions.next(candidate.storeKey, (version) =>
          Promise.resolve(void seen.push({ ids: written.map((w) => w.itemId).sort(), version })),
        ),
    );
    expect(seen).toEqual([{ ids: ['a', 'b'], version: String(before + 1) }]);
    expect(await pointsVersion(candidate.id)).toBe(before + 1);
    // The serving version's points did not change.
    expect(await collections.versionByStoreKey(s.collection.storeKey)).toBe(servingBefore);

    // Another version's store key is not this write's to bump.
    await expect(
      vectors.write(
        s.tenantId,
        candidate.id,
        [{ streamId: s.id, itemId: 'a', vector: vec(0, 0, 0, 1) }],
        (_w, versions) => versions.next(s.collection.storeKey, () => Promise.resolve()),
      ),
    ).rejects.toThrow(`has no store key ${s.collection.storeKey}`);

    // A publish that fails (the store down) leaves nothing: rows, vectors and version as they were.
    await expect(
      vectors.write(
        s.tenantId,
        candidate.id,
        [
          { streamId: s.id, itemId: 'a', vector: vec(0, 0, 0, 1) },
          { streamId: s.id, itemId: 'b', vector: vec(0, 0, 0, 1) },
        ],
        (_written, versions) =>
          versions.next(candidate.storeKey, () => Promise.reject(new Error('store down'))),
      ),
    ).rejects.toThrow('store down');
    expect(await rowsOf(candidate.id)).toEqual([
      { itemId: 'a', vector: [1, 1, 0, 0] },
      { itemId: 'b', vector: [1, 1, 0, 0] },
    ]);
    expect(await pointsVersion(candidate.id)).toBe(before + 1);

    // So does an `after` that throws (a backfill whose cursor moved).
    const n = await fx.prisma.itemVector.count({ where: { versionId: candidate.id } });
    await expect(
      vectors.write(
        s.tenantId,
        candidate.id,
        [{ streamId: s.id, itemId: 'a', vector: vec(0, 0, 0, 1) }],
        (_w, versions) => versions.next(candidate.storeKey, () => Promise.resolve()),
        () => Promise.reject(new Error('cursor moved')),
      ),
    ).rejects.toThrow('cursor moved');
    expect(await fx.prisma.itemVector.count({ where: { versionId: candidate.id } })).toBe(n);
    expect((await rowsOf(candidate.id))[0]).toEqual({ itemId: 'a', vector: [1, 1, 0, 0] });
    expect(await pointsVersion(candidate.id)).toBe(before + 1);
  });

  it("orders a delete racing a write after the write's publish: the item ends deleted, in no version", async () => {
    const { s, candidate } = await withCandidate('race', ['a', 'b']);
    const order: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let publishing!: () => void;
    const published = new Promise<void>((resolve) => (publishing = resolve));

    const write = vectors.write(
      s.tenantId,
      candidate.id,
      [{ streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) }],
      async (written, versions) => {
        publishing();
        await gate;
        await versions.next(candidate.storeKey, () => Promise.resolve(void order.push('write published')));
        order.push(`written ${written.map((w) => w.itemId).join(',')}`);
      },
    );
    await published;
    const removed: string[][] = [];
    const deletion = collections.deleteFromCollection(
      s.tenantId,
      s.collectionId,
      'a',
      async (versions, keys) => {
        removed.push(keys);
        for (const key of keys)
          await versions.next(key, () => Promise.resolve(void order.push(`removed from ${key}`)));
      },
    );
    // The delete is held by the write's locks (not finished before the gate opens).
    await someoneWaitsOnALock();
    expect(order).toEqual([]);
    open();
    await Promise.all([write, deletion]);

    expect(order).toEqual([
      'write published',
      'written a',
      ...[s.collection.storeKey, candidate.storeKey].sort().map((key) => `removed from ${key}`),
    ]);
    expect(removed).toEqual([[s.collection.storeKey, candidate.storeKey].sort()]);
    const item = await fx.prisma.item.findUniqueOrThrow({
      where: { streamId_id: { streamId: s.id, id: 'a' } },
    });
    expect(item.status).toBe('deleted');
    expect(await fx.prisma.itemVector.count({ where: { streamId: s.id, itemId: 'a' } })).toBe(0);
  });

  it('skips an item a delete got to first, and publishes nothing for it', async () => {
    const { s, candidate } = await withCandidate('deleted-first', ['a']);
    await collections.deleteFromCollection(s.tenantId, s.collectionId, 'a', () => Promise.resolve());
    const publish = jest.fn(() => Promise.resolve());
    expect(
      await vectors.write(
        s.tenantId,
        candidate.id,
        [{ streamId: s.id, itemId: 'a', vector: vec(1, 0, 0, 0) }],
        publish,
      ),
    ).toEqual([]);
    expect(publish).not.toHaveBeenCalled();
    expect(await fx.prisma.itemVector.count({ where: { versionId: candidate.id } })).toBe(0);
  });

  it("reads a version's vectors: the item's own where embedded by that model, else its row by the version, never a deleted item", async () => {
    const { s, rollout, candidate } = await withCandidate('version-vectors', ['a', 'b', 'c', 'd', 'e']);
    const items = fx.module.get(ItemEmbeddingRepository);
    const own = (itemId: string, vector: Float32Array, model: string) =>
      items.writeEmbedded([{ tenantId: s.tenantId, streamId: s.id, itemId, vector }], model);
    const row = (versionId: string, itemId: string, vector: Float32Array) =>
      vectors.write(s.tenantId, versionId, [{ streamId: s.id, itemId, vector }], noPublish);
    // a: embedded by the serving model, and backfilled into the candidate.
    await own('a', vec(1, 0, 0, 0), 'use-lite@1');
    await row(candidate.id, 'a', vec(0, 1, 0, 0));
    // b: embedded by the candidate's model (its own row), and dual-written into the serving version.
    await own('b', vec(0, 0, 1, 0), TO);
    await row(rollout.fromVersionId, 'b', vec(0, 0, 0, 1));
    // c: not embedded yet (queued), backfilled into the candidate.
    await row(candidate.id, 'c', vec(1, 1, 0, 0));
    // d: deleted, though a row by the candidate is left (it must never come back).
    await own('d', vec(1, 0, 1, 0), 'use-lite@1');
    await row(candidate.id, 'd', vec(1, 0, 0, 1));
    await setStatus(s.id, 'd', 'deleted');
    // e: queued, with nothing anywhere.

    const read = async (versionId: string, pageSize?: number) => {
      const pages: { itemId: string; vector: number[]; text: string }[][] = [];
      for await (const page of collections.versionVectors(versionId, pageSize))
        pages.push(page.map((p) => ({ itemId: p.itemId, vector: [...p.vector], text: p.text })));
      return pages;
    };
    expect((await read(candidate.id)).flat()).toEqual([
      { itemId: 'a', vector: [0, 1, 0, 0], text: 'text of a' },
      { itemId: 'b', vector: [0, 0, 1, 0], text: 'text of b' },
      { itemId: 'c', vector: [1, 1, 0, 0], text: 'text of c' },
    ]);
    expect((await read(rollout.fromVersionId)).flat()).toEqual([
      { itemId: 'a', vector: [1, 0, 0, 0], text: 'text of a' },
      { itemId: 'b', vector: [0, 0, 0, 1], text: 'text of b' },
    ]);
    // In pages, in key order, none twice.
    expect((await read(candidate.id, 2)).map((p) => p.map((v) => v.itemId))).toEqual([['a', 'b'], ['c']]);
  });
});
