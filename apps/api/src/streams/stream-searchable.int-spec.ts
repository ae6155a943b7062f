import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CollectionRepository, ItemEmbeddingRepository, StreamRepository } from '@tributary/db';
import { waitUntil } from '@tributary/testing';
import { itemPayload, randomVectors } from '@tributary/vector-store';
import { VectorStoreService } from '../collections/vector-store.service';
import { createTenantWithKey, createTextStream, startApi, type ApiHarness } from '../testing/api-harness';

/**
 * `searchable` in a stream's counters with the embedded store (real PostgreSQL and Redis): the
 * test plays the worker (vectors written, points through the vector writer, items counted), and
 * loses one write's log entry, so that `embedded` runs ahead of what the API's index holds.
 */
describe('a stream reports how many of its items are searchable (embedded store)', () => {
  let api: ApiHarness;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'searchable-'));
    // No periodic check during the test: only the next entry's version gap repairs the loss.
    api = await startApi({ VECTOR_STORE: 'embedded', VECTOR_DIR: dir, INDEX_LOG_CHECK_EVERY_MS: '86400000' });
  }, 60_000);
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lags behind embedded while a write is not applied, never goes back, then reaches it', async () => {
    const { key, tenantId } = await createTenantWithKey(api, 'searchable', {
      rateLimitPerSecond: 1000,
      rateLimitBurst: 1000,
    });
    const created = await createTextStream(api, key, 'notes');
    expect(created.counters.searchable).toBe(0);
    const streamId = created.id;
    const ids = Array.from({ length: 30 }, (_, i) => `n${i}`);
    const ingest = await api.request({
      method: 'POST',
      url: `/v1/streams/${streamId}/items`,
      key,
      body: { items: ids.map((id) => ({ id, text: `note ${id}` })) },
    });
    expect(ingest.status).toBe(202);

    const { collection } = await api.app.get(StreamRepository).get(tenantId, streamId);
    const vectors = randomVectors(ids.length, collection.dimensions, 7);
    const vectorOf = new Map(ids.map((id, i) => [id, vectors[i]!]));
    const items = api.app.get(ItemEmbeddingRepository);
    const writer = api.app.get(VectorStoreService).writer;
    /** What a worker does with a batch; `lose` drops its log entry (its version is taken all the same). */
    async function embed(batch: string[], lose = false) {
      const written = await items.writeEmbedded(
        batch.map((itemId) => ({ tenantId, streamId, itemId, vector: vectorOf.get(itemId)! })),
      );
      const points = written.map((w) => ({
        id: w.itemId,
        vector: vectorOf.get(w.itemId)!,
        payload: itemPayload(w),
      }));
      if (lose)
        await api.app.get(CollectionRepository).versions.next(collection.storeKey, () => Promise.resolve());
      else await writer.upsert(collection.storeKey, points);
      await items.countEmbedded(batch.map((itemId) => ({ tenantId, streamId, itemId })));
    }
    const counters = async () =>
      (await api.request({ method: 'GET', url: `/v1/streams/${streamId}`, key })).body.counters as {
        embedded: number;
        searchable: number;
      };
    const nearest = async (id: string) =>
      (
        await api.request({
          method: 'POST',
          url: '/v1/collections/notes/search',
          key,
          body: { query: Array.from(vectorOf.get(id)!), k: 1 },
        })
      ).body.data[0]?.id as string | undefined;

    await embed(ids.slice(0, 10));
    await waitUntil('the first batch searchable', async () => (await counters()).searchable === 10, 10_000);
    expect(await nearest('n3')).toBe('n3');

    await embed(ids.slice(10, 20), true);
    expect(await counters()).toEqual(expect.objectContaining({ embedded: 20, searchable: 10 }));
    expect(await nearest('n13')).not.toBe('n13');
    // The stream list answers the same, and the bound does not fall back.
    const listed = await api.request({ method: 'GET', url: '/v1/streams', key });
    expect(listed.body.data[0].counters).toEqual(expect.objectContaining({ embedded: 20, searchable: 10 }));

    // The next entry is two versions on: the collection is rebuilt from PostgreSQL, lost batch included.
    await embed(ids.slice(20));
    await waitUntil('every item searchable', async () => (await counters()).searchable === 30, 30_000);
    for (const id of ['n3', 'n13', 'n23']) expect(await nearest(id)).toBe(id);
  }, 60_000);

  it('answers no hits, not an error, for a collection nothing was indexed into yet', async () => {
    const { key } = await createTenantWithKey(api, 'nothing-indexed');
    await createTextStream(api, key, 'empty');
    const search = await api.request({
      method: 'POST',
      url: '/v1/collections/empty/search',
      key,
      body: { query: new Array(512).fill(0.1), k: 3 },
    });
    expect(search.status).toBe(200);
    expect(search.body).toEqual({ model: 'use-lite@1', data: [] });
  });
});
