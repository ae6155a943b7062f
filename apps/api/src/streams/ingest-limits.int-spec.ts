import { Readable } from 'node:stream';
import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 1000, rateLimitBurst: 1000 };

async function newStream(api: ApiHarness, name: string) {
  const { key } = await createTenantWithKey(api, name, LIMITS);
  const stream = await api.request({ method: 'POST', url: '/v1/streams', key, body: { name, kind: 'text' } });
  expect(stream.status).toBe(201);
  return { key, id: stream.body.id as string };
}

/** `n` items whose JSON is about `bytes` long each. */
function itemsOf(n: number, bytes: number, prefix = 'i') {
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}${i}`;
    const overhead = JSON.stringify({ id, text: '' }).length;
    return { id, text: `${i} `.padEnd(bytes - overhead, 'x') };
  });
}

describe('the documented item count fits the body limit (real PostgreSQL and Redis, default limits)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  }, 60_000);
  afterAll(() => api.close());

  it('accepts 1,000 items of 1.2 KB in one request, as the README promises', async () => {
    const { key, id } = await newStream(api, 'thousand');
    const items = itemsOf(1000, 1200);
    const res = await api.request({ method: 'POST', url: `/v1/streams/${id}/items`, key, body: { items } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 1000, duplicates: 0 });
  });
});

describe('every 413 states the limit and what to do (real PostgreSQL and Redis, small limits)', () => {
  let api: ApiHarness;
  const itemLimit = 2048;
  beforeAll(async () => {
    api = await startApi({ INGEST_ITEM_MAX_BYTES: String(itemLimit), BODY_LIMIT_BYTES: '4096' });
  }, 60_000);
  afterAll(() => api.close());

  it('an item over INGEST_ITEM_MAX_BYTES is refused naming the item and the limit; nothing is accepted', async () => {
    const { key, id } = await newStream(api, 'big-item');
    const items = [...itemsOf(5, 500), ...itemsOf(1, itemLimit + 100, 'big'), ...itemsOf(5, 500, 'j')];
    const res = await api.request({ method: 'POST', url: `/v1/streams/${id}/items`, key, body: { items } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toContain('items.5');
    expect(res.body.error.message).toContain(String(itemLimit));
    expect(res.body.error.message).toContain('INGEST_ITEM_MAX_BYTES');
    const stream = await api.request({ method: 'GET', url: `/v1/streams/${id}`, key });
    expect(stream.body.counters.accepted).toBe(0);
  });

  it('1,000 items at the item limit fit one request, although that is far above BODY_LIMIT_BYTES', async () => {
    const { key, id } = await newStream(api, 'full');
    const items = itemsOf(1000, itemLimit);
    const res = await api.request({ method: 'POST', url: `/v1/streams/${id}/items`, key, body: { items } });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1000);
  });

  it('an items body over its limit (declared or streamed) is refused saying the limit and pointing to NDJSON', async () => {
    const { key, id } = await newStream(api, 'padded');
    // Within 1,000 items of the item limit only padding can make the body too large.
    const json = `{"items":${JSON.stringify(itemsOf(10, 100))}${' '.repeat(4 * 1000 * itemLimit)}}`;
    for (const payload of [json, Readable.from([Buffer.from(json)], { objectMode: false })]) {
      const res = await api.app
        .getHttpAdapter()
        .getInstance()
        .inject({
          method: 'POST',
          url: `/v1/streams/${id}/items`,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          payload,
        });
      expect(res.statusCode).toBe(413);
      const { error } = res.json();
      expect(error.code).toBe('payload_too_large');
      expect(error.message).toMatch(/\d+ bytes/);
      expect(error.message).toContain('INGEST_ITEM_MAX_BYTES');
      expect(error.message).toContain('items:ndjson');
    }
  });

  it('any other JSON body over BODY_LIMIT_BYTES is refused saying the limit', async () => {
    const res = await api.request({
      method: 'POST',
      url: '/v1/admin/tenants',
      key: TEST_ADMIN_KEY,
      body: { name: 'x'.repeat(8192) },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.message).toContain('4096 bytes');
    expect(res.body.error.message).toContain('BODY_LIMIT_BYTES');
  });
});
