import OpenAI from 'openai';
import {
  buildUseLiteOnnx,
  cosineSimilarity,
  loadUseLiteTokenizer,
  UseLiteEmbedder,
} from '@tributary/inference';
import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('POST /v1/embeddings (OpenAI-compatible; real model, Redis, PostgreSQL)', () => {
  let api: ApiHarness;
  let base: string;
  let key: string;

  beforeAll(async () => {
    api = await startApi({ EMBEDDINGS_MAX_INPUTS: '8', EMBEDDINGS_MAX_INPUT_CHARS: '2000' });
    base = await api.listen();
    ({ key } = await createTenantWithKey(api, 'embedder', {
      rateLimitPerSecond: 1000,
      rateLimitBurst: 1000,
    }));
  }, 60_000);
  afterAll(() => api.close());

  it('works with the official openai client, float format, matching the model', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    const texts = ['A man is eating food.', 'A man is eating a piece of bread.', 'A man is riding a horse.'];
    const response = await client.embeddings.create({
      model: 'use-lite@1',
      input: texts,
      encoding_format: 'float',
    });
    expect(response.object).toBe('list');
    expect(response.model).toBe('use-lite@1');
    expect(response.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [food, bread, horse] = response.data.map((d) => d.embedding);
    expect(food).toHaveLength(512);
    expect(cosineSimilarity(food!, bread!)).toBeCloseTo(0.7628, 3);
    expect(cosineSimilarity(food!, horse!)).toBeCloseTo(0.4671, 3);
    expect(response.usage.prompt_tokens).toBeGreaterThan(15);
    expect(response.usage.total_tokens).toBe(response.usage.prompt_tokens);

    const direct = await UseLiteEmbedder.create(buildUseLiteOnnx('use-lite@1'), loadUseLiteTokenizer());
    const [expected] = await direct.embed([texts[0]!]);
    await direct.release();
    expect(Math.max(...food!.map((v, i) => Math.abs(v - expected![i]!)))).toBeLessThan(1e-6);
  });

  it('works with the openai client in base64 format (its default), decoding to the same floats', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    const asFloat = await client.embeddings.create({
      model: 'use-lite@1',
      input: 'base64 check',
      encoding_format: 'float',
    });
    const asDefault = await client.embeddings.create({ model: 'use-lite@1', input: 'base64 check' });
    expect(asDefault.data[0]!.embedding).toHaveLength(512);
    expect(
      Math.max(...asDefault.data[0]!.embedding.map((v, i) => Math.abs(v - asFloat.data[0]!.embedding[i]!))),
    ).toBe(0);

    const raw = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key,
      body: { input: 'base64 check', encoding_format: 'base64' },
    });
    expect(typeof raw.body.data[0].embedding).toBe('string');
    const bytes = Buffer.from(raw.body.data[0].embedding as string, 'base64');
    expect(bytes).toHaveLength(512 * 4);
  });

  it("uses the tenant's default model when none is named", async () => {
    const res = await api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input: ['hello'] } });
    expect(res.status).toBe(200);
    expect(res.body.model).toBe('use-lite@1');
  });

  it('serves repeated inputs from the cache and says so', async () => {
    const body = { input: ['cache me once', 'cache me twice'] };
    const first = await api.request({ method: 'POST', url: '/v1/embeddings', key, body });
    expect(first.headers['x-tributary-cache']).toBe('miss');
    const second = await api.request({ method: 'POST', url: '/v1/embeddings', key, body });
    expect(second.headers['x-tributary-cache']).toBe('hit');
    expect(second.body.data).toEqual(first.body.data);
    const mixed = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key,
      body: { input: ['cache me once', 'new text'] },
    });
    expect(mixed.headers['x-tributary-cache']).toBe('partial');
    const metrics = String((await api.request({ method: 'GET', url: '/metrics' })).body);
    const value = (series: string) =>
      Number(
        new RegExp(`^${series}\\{[^}]*model="use-lite@1"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN,
      );
    expect(value('tributary_embedding_cache_hits_total')).toBeGreaterThanOrEqual(3);
    expect(value('tributary_embedding_cache_misses_total')).toBeGreaterThanOrEqual(3);
    expect(value('tributary_inference_duration_seconds_count')).toBeGreaterThanOrEqual(1);
  });

  it('reports truncation of inputs beyond the model limit', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const res = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key,
      body: { input: ['short', long] },
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-tributary-truncated']).toBe('1');
  });

  it('refuses what it cannot do with the documented 4xx', async () => {
    const post = (body: unknown) => api.request({ method: 'POST', url: '/v1/embeddings', key, body });
    expect((await post({ input: 'x', dimensions: 256 })).status).toBe(422);
    expect((await post({ input: 'x', dimensions: 512 })).status).toBe(200);
    const unknown = await post({ input: 'x', model: 'nope@1' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.message).toContain('use-lite@1');
    expect((await post({ input: [] })).status).toBe(422);
    expect((await post({ input: [''] })).status).toBe(422);
    expect((await post({ input: [[1, 2, 3]] })).status).toBe(422);
    expect((await post({ input: 'x', encoding_format: 'int8' })).status).toBe(422);
    const many = await post({ input: Array.from({ length: 9 }, () => 'x') });
    expect(many.status).toBe(413);
    expect(many.body.error.message).toContain('At most 8 inputs');
    expect(many.body.error.message).toContain('split them over several requests');
    const long = await post({ input: 'y'.repeat(2001) });
    expect(long.status).toBe(413);
    expect(long.body.error.message).toContain('EMBEDDINGS_MAX_INPUT_CHARS');
    expect((await api.request({ method: 'POST', url: '/v1/embeddings', body: { input: 'x' } })).status).toBe(
      401,
    );
  });

  it('lets an admin set a tenant default model only to a known model', async () => {
    const t = await createTenantWithKey(api, 'int8-tenant');
    const bad = await api.request({
      method: 'PATCH',
      url: `/v1/admin/tenants/${t.tenantId}`,
      key: TEST_ADMIN_KEY,
      body: { defaultModel: 'nope@1' },
    });
    expect(bad.status).toBe(422);
    const ok = await api.request({
      method: 'PATCH',
      url: `/v1/admin/tenants/${t.tenantId}`,
      key: TEST_ADMIN_KEY,
      body: { defaultModel: 'use-lite-int8@1' },
    });
    expect(ok.body.defaultModel).toBe('use-lite-int8@1');
    // This API serves only use-lite@1 (MODELS), so the tenant's default is refused by name.
    const res = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key: t.key,
      body: { input: 'x' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain('use-lite-int8@1 is not served here');
  });
});

describe('POST /v1/embeddings under overload', () => {
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    api = await startApi({ INFERENCE_QUEUE_MAX_ROWS: '4', EMBEDDINGS_MAX_INPUTS: '16' });
    ({ key } = await createTenantWithKey(api, 'busy', { rateLimitPerSecond: 1000, rateLimitBurst: 1000 }));
  }, 60_000);
  afterAll(() => api.close());

  it('still serves cached inputs and refuses the rest at once with 429 and Retry-After', async () => {
    const cached = ['already seen one', 'already seen two'];
    expect(
      (await api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input: cached } })).status,
    ).toBe(200);

    const tooMuch = Array.from({ length: 6 }, (_, i) => `fresh text ${i}`);
    const [refused, served] = await Promise.all([
      api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input: tooMuch } }),
      api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input: cached } }),
    ]);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(served.status).toBe(200);
    expect(served.headers['x-tributary-cache']).toBe('hit');

    const metrics = String((await api.request({ method: 'GET', url: '/metrics' })).body);
    expect(metrics).toMatch(/tributary_inference_rejected_total\{[^}]*reason="queue_full"[^}]*\} 6/);
  });
});
