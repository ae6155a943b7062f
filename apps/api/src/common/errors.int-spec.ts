import { startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('bad input gets a documented 4xx that says what is wrong', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(() => api.close());

  const post = (payload: string | Buffer, contentType = 'application/json') =>
    api.request({
      method: 'POST',
      url: '/v1/admin/tenants',
      key: TEST_ADMIN_KEY,
      payload,
      headers: { 'content-type': contentType },
    });

  it('malformed JSON → 400 invalid_json', async () => {
    const res = await post('{"name": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_json');
    expect(res.body.error.message).toMatch(/not valid JSON: .*JSON/);
    expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
  });

  it('empty JSON body where fields are needed → 400 invalid_json naming them', async () => {
    const res = await post('');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/empty/);
    expect(res.body.error.message).toContain('name: required');
  });

  it('prototype poisoning in JSON (valid JSON) → 422 naming the key', async () => {
    for (const body of [
      '{"name":"x","__proto__":{"admin":true}}',
      '{"name":"x","constructor":{"prototype":{}}}',
    ]) {
      const res = await post(body);
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.message).toContain('"__proto__"');
    }
  });

  it('wrong content type → 415 naming the accepted type', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await post('name=acme', type);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
      expect(res.body.error.message).toContain('application/json');
    }
  });

  it('oversized body → 413', async () => {
    const res = await post(JSON.stringify({ name: 'x'.repeat(4096) }));
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('unknown fields → 422 naming them', async () => {
    const res = await post(JSON.stringify({ name: 'ok', colour: 'blue' }));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details).toEqual([{ path: '(body)', message: 'unknown field(s): colour' }]);
  });

  it('invalid fields → 422 with the path of each', async () => {
    const res = await post(
      JSON.stringify({ name: '', limits: { rateLimitPerSecond: -1, rateLimitBurst: 'many' } }),
    );
    expect(res.status).toBe(422);
    const paths = [...new Set(res.body.error.details.map((d: { path: string }) => d.path))].sort();
    expect(paths).toEqual(['limits.rateLimitBurst', 'limits.rateLimitPerSecond', 'name']);
    // OpenAI's error object on every route: its type, and the first bad field as param.
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(res.body.error.param).toBe(res.body.error.details[0].path);
    expect(res.body.error.message).toContain('limits.rateLimitBurst');
  });

  it('invalid path and query parameters → 422', async () => {
    const byId = await api.request({
      method: 'GET',
      url: '/v1/admin/tenants/not-a-uuid',
      key: TEST_ADMIN_KEY,
    });
    expect(byId.status).toBe(422);
    expect(byId.body.error.details[0]).toEqual({ path: 'id', message: 'must be a UUID' });
    const page = await api.request({ method: 'GET', url: '/v1/admin/tenants?limit=0', key: TEST_ADMIN_KEY });
    expect(page.status).toBe(422);
    const unknown = await api.request({
      method: 'GET',
      url: '/v1/admin/tenants?sort=name',
      key: TEST_ADMIN_KEY,
    });
    expect(unknown.status).toBe(422);
  });

  it('unknown route → 404 in the same error shape', async () => {
    const res = await api.request({ method: 'GET', url: '/v1/nothing-here' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
  });

  it('keeps a well-formed caller request id and echoes it', async () => {
    const res = await api.request({
      method: 'GET',
      url: '/v1/nothing-here',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body.error.requestId).toBe('abc-123');
    const bad = await api.request({
      method: 'GET',
      url: '/v1/nothing-here',
      headers: { 'x-request-id': 'no spaces <allowed>' },
    });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
