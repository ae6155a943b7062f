import { createHmac } from 'node:crypto';
import { VectorStoreService } from '../collections/vector-store.service';
import { collectionStoreKey } from '../streams/streams.service';
import {
  createTenantWithKey,
  createTextStream,
  startApi,
  TEST_ADMIN_KEY,
  type ApiHarness,
  type TestResponse,
} from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 };

/** Metadata nested `depth` objects deep (the metadata object itself is level 1), built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** The same, as JSON text built by hand (JSON.stringify overflows the stack far before 100,000 levels). */
function nestedJson(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{"leaf":true}' + '}'.repeat(depth - 1);
}

describe('hostile bodies get a clear 4xx, never a 500 (real PostgreSQL, Redis, ONNX; no worker)', () => {
  let api: ApiHarness;
  let key: string;
  let tenantId: string;
  let streamId: string;
  let webhookSecret: string;

  beforeAll(async () => {
    api = await startApi();
    ({ key, tenantId } = await createTenantWithKey(api, 'hostile', LIMITS));
    const stream = await createTextStream(api, key, 'hostile');
    streamId = stream.id;
    webhookSecret = stream.webhook.secret;
  }, 60_000);
  afterAll(() => api.close());

  const ingest = (items: unknown[]) =>
    api.request({ method: 'POST', url: `/v1/streams/${streamId}/items`, key, body: { items } });
  const ingestText = (payload: string) =>
    api.request({
      method: 'POST',
      url: `/v1/streams/${streamId}/items`,
      key,
      payload,
      headers: { 'content-type': 'application/json' },
    });
  const search = (body: unknown, collection = 'hostile') =>
    api.request({ method: 'POST', url: `/v1/collections/${collection}/search`, key, body });
  const accepted = async () =>
    (await api.request({ method: 'GET', url: `/v1/streams/${streamId}`, key })).body.counters
      .accepted as number;

  /** A 422 whose details name exactly these paths, each with a message matching `why`. */
  function expectRefused(res: TestResponse, paths: string[], why: RegExp) {
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(paths);
    for (const d of res.body.error.details) expect(d.message).toMatch(why);
  }

  describe('NUL (\\u0000), which PostgreSQL cannot store', () => {
    it('in item text, ids and metadata values: 422 naming each bad item, nothing accepted', async () => {
      const before = await accepted();
      const res = await ingest([
        { id: 'nul-ok', text: 'fine' },
        { id: 'nul-text', text: 'a\u0000b' },
        { id: 'nul\u0000id', text: 'fine' },
        { id: 'nul-meta', text: 'fine', metadata: { note: 'x\u0000' } },
        { id: 'nul-deep', text: 'fine', metadata: { deep: { list: ['ok', 'y\u0000'] } } },
        { id: 'nul-key', text: 'fine', metadata: { deep: { 'k\u0000': 1 } } },
      ]);
      expectRefused(
        res,
        [
          'items.1.text',
          'items.2.id',
          'items.3.metadata.note',
          'items.4.metadata.deep.list.1',
          'items.5.metadata.deep',
        ],
        /NUL/,
      );
      expect(await accepted()).toBe(before);
    });

    it('in a signed webhook body: 422', async () => {
      const body = JSON.stringify({ items: [{ id: 'hook-nul', text: 'web\u0000hook' }] });
      const timestamp = Math.floor(Date.now() / 1000);
      const mac = createHmac('sha256', webhookSecret).update(`${timestamp}.${body}`).digest('hex');
      const res = await api.request({
        method: 'POST',
        url: `/v1/hooks/${streamId}`,
        payload: body,
        headers: {
          'content-type': 'application/json',
          'x-tributary-timestamp': String(timestamp),
          'x-tributary-signature': `v1=${mac}`,
        },
      });
      expectRefused(res, ['items.0.text'], /NUL/);
    });

    it('in a search filter or query: 422', async () => {
      expectRefused(await search({ query: 'rain', filter: { lang: 'e\u0000n' } }), ['filter.lang'], /NUL/);
      expectRefused(await search({ query: 'ra\u0000in' }), ['query'], /NUL/);
    });

    it('in path and query parameters, key names and retry ids: 422', async () => {
      expectRefused(
        await api.request({ method: 'DELETE', url: '/v1/collections/hostile/items/a%00b', key }),
        ['id'],
        /NUL/,
      );
      expectRefused(
        await api.request({ method: 'GET', url: `/v1/streams/${streamId}/failures?cursor=a%00`, key }),
        ['cursor'],
        /NUL/,
      );
      expectRefused(
        await api.request({
          method: 'POST',
          url: `/v1/streams/${streamId}/failures/retry`,
          key,
          body: { ids: ['x\u0000'] },
        }),
        ['ids.0'],
        /NUL/,
      );
      expectRefused(
        await api.request({
          method: 'POST',
          url: `/v1/admin/tenants/${tenantId}/keys`,
          key: TEST_ADMIN_KEY,
          body: { name: 'ke\u0000y' },
        }),
        ['name'],
        /NUL/,
      );
    });
  });

  describe('lone UTF-16 surrogates, which UTF-8 cannot encode', () => {
    it('are refused in ids, text and metadata instead of becoming U+FFFD', async () => {
      const res = await ingest([
        { id: 's\ud800', text: 'one' },
        { id: 's\udfff', text: 'two' },
        { id: 'surrogate-text', text: 'bad \udc00 text' },
        { id: 'surrogate-meta', text: 'fine', metadata: { note: '\ud83d', nested: { 'k\udfff': 1 } } },
      ]);
      expectRefused(
        res,
        ['items.0.id', 'items.1.id', 'items.2.text', 'items.3.metadata.note', 'items.3.metadata.nested'],
        /surrogate/,
      );
    });

    it('leave U+FFFD and well-formed pairs (emoji) alone: each id is its own item', async () => {
      const before = await accepted();
      const res = await ingest([
        { id: 's\ufffd', text: 'replacement character' },
        { id: 's\ud83d\ude00', text: 'an emoji 😀', metadata: { mood: '😀' } },
      ]);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ accepted: 2, duplicates: 0 });
      expect(await accepted()).toBe(before + 2);
    });
  });

  describe('metadata limits (depth 8, 256 keys, 16 KiB)', () => {
    it('accepts metadata at the limits', async () => {
      const keys = Object.fromEntries(Array.from({ length: 255 }, (_, i) => [`k${i}`, i]));
      const res = await ingest([
        { id: 'meta-depth-8', text: 'deep enough', metadata: nested(8) },
        { id: 'meta-keys-256', text: 'wide enough', metadata: { ...keys, inner: {} } },
        { id: 'meta-16k', text: 'big enough', metadata: { blob: 'x'.repeat(16 * 1024 - 20) } },
      ]);
      expect(res.status).toBe(202);
      expect(res.body.accepted).toBe(3);
    });

    it('refuses deeper, wider or larger metadata with the limit in the message', async () => {
      const keys = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]));
      const res = await ingest([
        { id: 'meta-depth-9', text: 'too deep', metadata: nested(9) },
        { id: 'meta-keys-257', text: 'too wide', metadata: { ...keys, inner: { ...keys } } },
        { id: 'meta-big', text: 'too big', metadata: { blob: 'x'.repeat(16 * 1024) } },
      ]);
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([
        { path: 'items.0.metadata', message: expect.stringMatching(/nested deeper than 8 levels/) },
        { path: 'items.1.metadata', message: expect.stringMatching(/more than 256 keys/) },
        { path: 'items.2.metadata', message: expect.stringMatching(/larger than 16384 bytes/) },
      ]);
    });

    it('refuses metadata nested 100,000 deep with a 422, not a stack overflow', async () => {
      const res = await ingestText(
        `{"items":[{"id":"meta-100k","text":"very deep","metadata":${nestedJson(100_000)}}]}`,
      );
      expectRefused(res, ['items.0.metadata'], /nested deeper than 8 levels/);
      // The API is still well.
      expect((await ingest([{ id: 'after-deep', text: 'still here' }])).status).toBe(202);
    });
  });

  describe('search vectors', () => {
    beforeAll(async () => {
      // A collection the store holds, so the query reaches the store rather than an empty answer.
      await api.app
        .get(VectorStoreService)
        .store.ensureCollection(collectionStoreKey(tenantId, 'hostile', 'use-lite@1'), 512);
    });

    it('of zeros → 422', async () => {
      expectRefused(await search({ query: new Array(512).fill(0) }), ['query'], /all zeros/);
    });

    it('with a component beyond float32 (1e39) → 422', async () => {
      const vector = new Array(512).fill(0.01);
      vector[7] = 1e39;
      expectRefused(await search({ query: vector }), ['query.7'], /float32/);
    });
  });

  describe('ids and names: what is accepted can be deleted; Fastify’s own errors in the documented shape', () => {
    it('deletes an item whose id is 256 characters of anything URL-hostile', async () => {
      const hostile = 'a/b?c#d%e f+😀';
      const id = hostile + 'x'.repeat(256 - hostile.length);
      expect(id.length).toBe(256);
      expect((await ingest([{ id, text: 'delete me' }])).status).toBe(202);
      const res = await api.request({
        method: 'DELETE',
        url: `/v1/collections/hostile/items/${encodeURIComponent(id)}`,
        key,
      });
      expect(res.status).toBe(204);
      const again = await api.request({
        method: 'DELETE',
        url: `/v1/collections/hostile/items/${encodeURIComponent(id)}`,
        key,
      });
      expect(again.status).toBe(404);
    });

    it('refuses a longer id in ingest and in the URL alike, without echoing the URL', async () => {
      const id = 'y'.repeat(257);
      expectRefused(await ingest([{ id, text: 'too long' }]), ['items.0.id'], /256/);
      for (const length of [257, 5000]) {
        const res = await api.request({
          method: 'DELETE',
          url: `/v1/collections/hostile/items/${'y'.repeat(length)}`,
          key,
        });
        // Both below and above the router's segment limit: the same 422, not Fastify's own 414.
        expect(res.status).toBe(422);
        expect(res.body.error).toEqual({
          code: 'validation_failed',
          message: expect.stringContaining('256'),
          type: 'invalid_request_error',
          // The router refuses the segment before any route names it, so no field is named.
          param: null,
          details: expect.any(Array),
          requestId: res.headers['x-request-id'],
        });
        expect(JSON.stringify(res.body)).not.toContain('yyyyyyyyyy');
      }
    });

    it('answers a collection name over 100 characters 422 like any bad name, not with Fastify’s 414', async () => {
      const res = await search({ query: 'rain' }, 'c'.repeat(101));
      expectRefused(res, ['name'], /100/);
    });

    it('answers a malformed URL escape 400 in the documented shape', async () => {
      const res = await api.request({ method: 'GET', url: '/v1/streams/%E0%A4%A', key });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({
        code: 'bad_request',
        message: expect.stringMatching(/percent-encod/),
        type: 'invalid_request_error',
        param: null,
        requestId: res.headers['x-request-id'],
      });
    });
  });

  describe('messages that say what is wrong and how to fix it', () => {
    it('an invalid UTF-8 byte in a JSON body → 400 saying so', async () => {
      const payload = Buffer.concat([
        Buffer.from('{"items":[{"id":"utf8","text":"caf'),
        Buffer.from([0xe9]),
        Buffer.from('"}]}'),
      ]);
      const res = await api.request({
        method: 'POST',
        url: `/v1/streams/${streamId}/items`,
        key,
        payload,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
      expect(res.body.error.message).toMatch(/not valid UTF-8/);
      expect(res.body.error.message).not.toMatch(/Content-Length/);
    });

    it('a __proto__ key (valid JSON) → 422 naming the key, not "not valid JSON"', async () => {
      const res = await ingestText(
        '{"items":[{"id":"proto","text":"x","metadata":{"__proto__":{"admin":true}}}]}',
      );
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toContain('"__proto__"');
      expect(res.body.error.message).toMatch(/rename/);
      expect(res.body.error.message).not.toMatch(/not valid JSON/);
    });

    it('a bad metadata key → the rule and the key, not "Invalid key in record"', async () => {
      const res = await ingest([{ id: 'bad-key', text: 'x', metadata: { 'bad key!': 1 } }]);
      expect(res.status).toBe(422);
      expect(res.body.error.details).toEqual([
        {
          path: 'items.0.metadata.bad key!',
          message: 'key "bad key!" is invalid: metadata keys are 1–64 letters, digits, "_" or "-"',
        },
      ]);
    });

    it('a missing or mistyped search query → what is expected, not "Invalid input"', async () => {
      const missing = await search({ k: 3 });
      expect(missing.status).toBe(422);
      expect(missing.body.error.details).toEqual([
        { path: 'query', message: 'required: a string or an array of numbers' },
      ]);
      const mistyped = await search({ query: 42 });
      expect(mistyped.body.error.details).toEqual([
        { path: 'query', message: 'expected a string or an array of numbers, got a number' },
      ]);
    });

    it('whitespace-only text: one rule for /v1/embeddings, search and ingest', async () => {
      const blank = ' \u0007\t\u200b ';
      const embedded = await api.request({
        method: 'POST',
        url: '/v1/embeddings',
        key,
        body: { input: blank },
      });
      const ingested = await ingest([{ id: 'blank', text: blank }]);
      const searched = await search({ query: blank });
      const rule = /nothing left to embed/;
      expectRefused(embedded, ['input'], rule);
      expectRefused(ingested, ['items.0.text'], rule);
      expectRefused(searched, ['query'], rule);
      expect(embedded.body.error.details[0].message).toBe(ingested.body.error.details[0].message);
      const inArray = await api.request({
        method: 'POST',
        url: '/v1/embeddings',
        key,
        body: { input: ['fine', blank] },
      });
      expectRefused(inArray, ['input.1'], rule);
    });
  });

  describe('empty bodies where no body is needed', () => {
    const emptyJson = { 'content-type': 'application/json' };

    it('DELETE of a key with Content-Type: application/json and no body revokes it', async () => {
      const other = await createTenantWithKey(api, 'empty-delete', LIMITS);
      expect((await api.request({ method: 'GET', url: '/v1/me', key: other.key })).status).toBe(200);
      const res = await api.request({
        method: 'DELETE',
        url: `/v1/admin/keys/${other.keyId}`,
        key: TEST_ADMIN_KEY,
        headers: emptyJson,
      });
      expect(res.status).toBe(200);
      expect(res.body.revokedAt).not.toBeNull();
      expect((await api.request({ method: 'GET', url: '/v1/me', key: other.key })).status).toBe(401);
    });

    it('DELETE of an item with Content-Type: application/json and no body deletes it', async () => {
      expect((await ingest([{ id: 'to-delete', text: 'bye' }])).status).toBe(202);
      const res = await api.request({
        method: 'DELETE',
        url: '/v1/collections/hostile/items/to-delete',
        key,
        headers: emptyJson,
      });
      expect(res.status).toBe(204);
    });

    it('failures/retry with no body, with or without Content-Type', async () => {
      for (const headers of [{}, emptyJson]) {
        const res = await api.request({
          method: 'POST',
          url: `/v1/streams/${streamId}/failures/retry`,
          key,
          headers,
        });
        expect(res.status).toBe(202);
        expect(res.body).toEqual({ accepted: 0, duplicates: 0 });
      }
    });

    it('a key created with an empty body gets the default name', async () => {
      const res = await api.request({
        method: 'POST',
        url: `/v1/admin/tenants/${tenantId}/keys`,
        key: TEST_ADMIN_KEY,
        headers: emptyJson,
      });
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('default');
    });

    it('a route that needs a body still says so when it gets none', async () => {
      const res = await api.request({
        method: 'POST',
        url: '/v1/admin/tenants',
        key: TEST_ADMIN_KEY,
        headers: emptyJson,
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_json');
      expect(res.body.error.message).toMatch(/empty/);
      expect(res.body.error.message).toContain('name');
    });
  });
});

describe('a vector store refusing a search (real PostgreSQL, Redis, ONNX)', () => {
  let api: ApiHarness;
  afterAll(() => api.close());

  it('a store that is shutting down answers 503 with Retry-After, not 500', async () => {
    api = await startApi();
    const { key, tenantId } = await createTenantWithKey(api, 'closing', LIMITS);
    const stream = await api.request({
      method: 'POST',
      url: '/v1/streams',
      key,
      body: { name: 'c', kind: 'text' },
    });
    expect(stream.status).toBe(201);
    const store = api.app.get(VectorStoreService).store;
    await store.ensureCollection(collectionStoreKey(tenantId, 'c', 'use-lite@1'), 512);
    await store.close();
    const res = await api.request({
      method: 'POST',
      url: '/v1/collections/c/search',
      key,
      body: { query: new Array(512).fill(0.01) },
    });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.error).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/retry/) });
  }, 60_000);
});
