import { ConflictError, NotFoundError } from '@tributary/contracts';
import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { CollectionRepository } from './collection.repository';
import { ItemEmbeddingRepository } from './item-embedding.repository';
import { StreamRepository } from './stream.repository';

describe('CollectionRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let collections: CollectionRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    collections = fx.module.get(CollectionRepository);
  });
  afterAll(() => fx.close());

  const vec = (...v: number[]) => new Float32Array(v);
  /** The points' version of the collection's serving version. */
  const version = async (collectionId: string) => {
    const { storeKey } = await fx.prisma.collection.findUniqueOrThrow({ where: { id: collectionId } });
    return Number((await fx.prisma.collectionVersion.findUniqueOrThrow({ where: { storeKey } })).version);
  };
  /** Written and indexed, as the worker does. */
  const embed = async (s: { tenantId: string; id: string }, itemId: string, vector: Float32Array) => {
    const items = fx.module.get(ItemEmbeddingRepository);
    await items.writeEmbedded([{ tenantId: s.tenantId, streamId: s.id, itemId, vector }]);
    await items.countEmbedded([{ tenantId: s.tenantId, streamId: s.id, itemId }]);
  };

  it('deletes an item and removes its point with a version of its collection in one transaction', async () => {
    const s = await fx.streamWithQueuedItems('delete-tx', ['a', 'b']);
    await embed(s, 'a', vec(1, 0, 0, 0));
    const before = await version(s.collectionId);

    // Removing the point fails (Redis away, say): the item is not deleted, so a retry finds it again.
    await expect(
      collections.deleteFromCollection(s.tenantId, s.collectionId, 'a', () =>
        Promise.reject(new Error('store down')),
      ),
    ).rejects.toThrow('store down');
    expect(await version(s.collectionId)).toBe(before);
    expect(await fx.counters(s.id)).toEqual({ accepted: 2, embedded: 1, failed: 0 });

    // Versions taken in the transaction are this collection's only.
    const other = await fx.streamWithQueuedItems('delete-tx-other', []);
    await expect(
      collections.deleteFromCollection(s.tenantId, s.collectionId, 'a', (versions) =>
        versions.next(other.collection.storeKey, () => Promise.resolve()),
      ),
    ).rejects.toThrow('does not exist');
    expect(await version(other.collectionId)).toBe(0);

    const seen: string[] = [];
    const deleted = await collections.deleteFromCollection(s.tenantId, s.collectionId, 'a', (versions) =>
      versions.next(s.collection.storeKey, (v) => Promise.resolve(seen.push(v))),
    );
    expect(deleted).toEqual([{ streamId: s.id, status: 'embedded' }]);
    expect(seen).toEqual([String(before + 1)]);
    expect(await version(s.collectionId)).toBe(before + 1);

    // Not there any more: nothing changes and no point is removed.
    expect(
      await collections.deleteFromCollection(s.tenantId, s.collectionId, 'a', () =>
        Promise.reject(new Error('called')),
      ),
    ).toEqual([]);
    expect(await version(s.collectionId)).toBe(before + 1);
  });

  it('bumps the version (by store key) for each publish, in order, and keeps it when publishing fails', async () => {
    const s = await fx.streamWithQueuedItems('versions', []);
    const before = await version(s.collectionId);
    const seen: string[] = [];
    await Promise.all(
      [1, 2, 3].map(() =>
        collections.versions.next(s.collection.storeKey, (v) => Promise.resolve(seen.push(v))),
      ),
    );
    expect(seen.sort()).toEqual([1, 2, 3].map((n) => String(before + n)));
    await expect(
      collections.versions.next(s.collection.storeKey, () => Promise.reject(new Error('log down'))),
    ).rejects.toThrow('log down');
    expect(await version(s.collectionId)).toBe(before + 3);
  });

  it('finds a collection by name for its tenant, creates it with the first stream, and refuses another model', async () => {
    const s = await fx.streamWithQueuedItems('named', []);
    const found = await collections.byName(s.tenantId, 'named');
    expect(found).toEqual(
      expect.objectContaining({ id: s.collectionId, model: 'use-lite@1', dimensions: 4 }),
    );
    expect((await collections.list(s.tenantId)).map((c) => c.name)).toEqual(['named']);
    // Its one live version is the serving one; no other model's.
    expect(await collections.liveVersions(s.tenantId, s.collectionId)).toEqual([
      expect.objectContaining({ storeKey: found.storeKey, dimensions: 4, model: 'use-lite@1' }),
    ]);
    // A second stream into it shares it; one with another model may not.
    const streams = fx.module.get(StreamRepository);
    const spec = {
      kind: 'text' as const,
      collection: 'named',
      dimensions: 4,
      storeKey: 'unused',
      webhookSecret: 'whsec_2',
    };
    const second = await streams.create(s.tenantId, { ...spec, name: 'second', model: 'use-lite@1' });
    expect(second.collectionId).toBe(s.collectionId);
    await expect(streams.create(s.tenantId, { ...spec, name: 'third', model: 'other@1' })).rejects.toThrow(
      ConflictError,
    );
  });

  it('gives the embedded store every version and, by store key, a version and every vector', async () => {
    const s = await fx.streamWithQueuedItems('rebuild', ['a', 'b', 'c']);
    await embed(s, 'a', vec(1, 0, 0, 0));
    await embed(s, 'b', vec(0, 1, 0, 0));
    const { storeKey } = await collections.byName(s.tenantId, 'rebuild');
    await collections.versions.next(storeKey, () => Promise.resolve());

    expect((await collections.versionsAcrossTenants()).find((c) => c.storeKey === storeKey)).toEqual({
      storeKey,
      dimensions: 4,
      version: String(await version(s.collectionId)),
    });
    expect(await collections.versionByStoreKey(storeKey)).toBe(String(await version(s.collectionId)));
    expect(await collections.versionByStoreKey('no-such-key')).toBeUndefined();

    const pages: string[][] = [];
    for await (const page of collections.vectorsByStoreKey(storeKey, 1))
      pages.push(page.map((p) => p.itemId));
    expect(pages).toEqual([['a'], ['b']]);
    const points = [];
    for await (const page of collections.vectorsByStoreKey(storeKey)) points.push(...page);
    expect(points).toEqual([
      { itemId: 'a', streamId: s.id, text: 'text of a', metadata: { n: 'a' }, vector: vec(1, 0, 0, 0) },
      { itemId: 'b', streamId: s.id, text: 'text of b', metadata: { n: 'b' }, vector: vec(0, 1, 0, 0) },
    ]);
    for await (const _ of collections.vectorsByStoreKey('no-such-key')) throw new Error('a page of nothing');
  });

  it("with another tenant's id finds nothing, deletes nothing and bumps nothing", async () => {
    const s = await fx.streamWithQueuedItems('scoped', ['a']);
    const other = await fx.streamWithQueuedItems('scoped-other', []);
    await embed(s, 'a', vec(1, 0, 0, 0));
    const before = await version(s.collectionId);

    await expect(collections.byName(other.tenantId, 'scoped')).rejects.toThrow(NotFoundError);
    expect((await collections.list(other.tenantId)).map((c) => c.name)).toEqual(['scoped-other']);
    expect(await collections.liveVersions(other.tenantId, s.collectionId)).toEqual([]);
    for await (const _ of collections.collectionVectors(other.tenantId, s.collectionId))
      throw new Error('read another tenant’s vectors');

    expect(await collections.markDeleted(other.tenantId, s.collectionId, 'a')).toEqual([]);
    expect(
      await collections.deleteFromCollection(other.tenantId, s.collectionId, 'a', () =>
        Promise.reject(new Error('removed another tenant’s point')),
      ),
    ).toEqual([]);
    expect(await version(s.collectionId)).toBe(before);
    expect(await fx.counters(s.id)).toEqual({ accepted: 1, embedded: 1, failed: 0 });
    const a = await fx.prisma.item.findUniqueOrThrow({ where: { streamId_id: { streamId: s.id, id: 'a' } } });
    expect(a.status).toBe('embedded');
  });
});
