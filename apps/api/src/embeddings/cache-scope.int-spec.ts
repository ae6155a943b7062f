import { createTenantWithKey, startApi, type ApiHarness } from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 1000, rateLimitBurst: 1000 };

/** The API's cache hit counter for the test model, from /metrics. */
async function cacheHits(api: ApiHarness): Promise<number> {
  const metrics = await api.request({ method: 'GET', url: '/metrics' });
  const line = String(metrics.body)
    .split('\n')
    .find((l) => l.startsWith('tributary_embedding_cache_hits_total{') && l.includes('model="use-lite@1"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function embed(api: ApiHarness, key: string, input: string) {
  const res = await api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input } });
  expect(res.status).toBe(200);
  return res.headers['x-tributary-cache'];
}

/** Searches the tenant's collection `notes` by text; returns how many cache hits the search caused. */
async function searchHits(api: ApiHarness, key: string, query: string): Promise<number> {
  const before = await cacheHits(api);
  const res = await api.request({
    method: 'POST',
    url: '/v1/collections/notes/search',
    key,
    body: { query, k: 3 },
  });
  expect(res.status).toBe(200);
  return (await cacheHits(api)) - before;
}

async function tenantWithCollection(api: ApiHarness, name: string) {
  const tenant = await createTenantWithKey(api, name, LIMITS);
  const stream = await api.request({
    method: 'POST',
    url: '/v1/streams',
    key: tenant.key,
    body: { name: 'notes', kind: 'text' },
  });
  expect(stream.status).toBe(201);
  return tenant;
}

describe('embedding cache scope (no side channel between tenants; real Redis, PostgreSQL, model)', () => {
  describe('EMBEDDING_CACHE_SCOPE unset (tenant)', () => {
    let api: ApiHarness;
    beforeAll(async () => {
      api = await startApi();
    }, 60_000);
    afterAll(() => api.close());

    it("never answers tenant B's first request for tenant A's text from the cache", async () => {
      const a = await tenantWithCollection(api, 'scope-a');
      const b = await tenantWithCollection(api, 'scope-b');
      const text = 'the merger with Globex closes on Friday';

      expect(await embed(api, a.key, text)).toBe('miss');
      expect(await embed(api, a.key, text)).toBe('hit');
      expect(await embed(api, b.key, text)).toBe('miss');
      expect(await embed(api, b.key, text)).toBe('hit');

      const query = 'who is leaving the board';
      expect(await searchHits(api, a.key, query)).toBe(0);
      expect(await searchHits(api, a.key, query)).toBe(1);
      expect(await searchHits(api, b.key, query)).toBe(0);
    });
  });

  describe('EMBEDDING_CACHE_SCOPE=global', () => {
    let api: ApiHarness;
    beforeAll(async () => {
      api = await startApi({ EMBEDDING_CACHE_SCOPE: 'global' });
    }, 60_000);
    afterAll(() => api.close());

    it("answers tenant B's first request for tenant A's text from the shared cache", async () => {
      const a = await tenantWithCollection(api, 'global-a');
      const b = await tenantWithCollection(api, 'global-b');
      const text = 'quarterly numbers look better than expected';

      expect(await embed(api, a.key, text)).toBe('miss');
      expect(await embed(api, b.key, text)).toBe('hit');

      const query = 'what did the auditors find';
      expect(await searchHits(api, a.key, query)).toBe(0);
      expect(await searchHits(api, b.key, query)).toBe(1);
    });
  });
});
