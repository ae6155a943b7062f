import { startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('per-tenant rate limit (token bucket in real Redis)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('lets a burst through, then answers 429 with Retry-After, and only for that tenant', async () => {
    const slow = await createTenantWithKey(api, 'slow', { rateLimitPerSecond: 1, rateLimitBurst: 3 });
    const other = await createTenantWithKey(api, 'other', { rateLimitPerSecond: 1, rateLimitBurst: 3 });

    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await api.request({ method: 'GET', url: '/v1/me', key: slow.key })).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);

    const limited = await api.request({ method: 'GET', url: '/v1/me', key: slow.key });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(1);

    expect((await api.request({ method: 'GET', url: '/v1/me', key: other.key })).status).toBe(200);
  });

  it('refills at the configured rate', async () => {
    const t = await createTenantWithKey(api, 'refill', { rateLimitPerSecond: 20, rateLimitBurst: 1 });
    expect((await api.request({ method: 'GET', url: '/v1/me', key: t.key })).status).toBe(200);
    const refused = await api.request({ method: 'GET', url: '/v1/me', key: t.key });
    expect(refused.status).toBe(429);
    // One token refills in 50 ms at 20/s; wait for the refill the server itself announced.
    await new Promise((r) => setTimeout(r, 60));
    expect((await api.request({ method: 'GET', url: '/v1/me', key: t.key })).status).toBe(200);
  });

  it('applies a raised limit immediately', async () => {
    const t = await createTenantWithKey(api, 'raise', { rateLimitPerSecond: 1, rateLimitBurst: 1 });
    await api.request({ method: 'GET', url: '/v1/me', key: t.key });
    expect((await api.request({ method: 'GET', url: '/v1/me', key: t.key })).status).toBe(429);
    await api.request({
      method: 'PATCH',
      url: `/v1/admin/tenants/${t.tenantId}`,
      key: TEST_ADMIN_KEY,
      body: { limits: { rateLimitPerSecond: 1000, rateLimitBurst: 1000 } },
    });
    expect((await api.request({ method: 'GET', url: '/v1/me', key: t.key })).status).toBe(200);
  });

  it('counts refusals in /metrics', async () => {
    const metrics = await api.request({ method: 'GET', url: '/metrics' });
    const line = String(metrics.body)
      .split('\n')
      .find((l) => l.startsWith('tributary_rate_limit_rejections_total'));
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(4);
  });
});

describe('rate limit charged by the work asked for (real Redis, model)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  }, 60_000);
  afterAll(() => api.close());

  it('limits a tenant sending big /v1/embeddings batches by inputs, not by requests', async () => {
    // Burst 4 at 32 inputs per token (EMBEDDINGS_INPUTS_PER_TOKEN's default): 128 inputs in one burst.
    const limits = { rateLimitPerSecond: 1, rateLimitBurst: 4 };
    const big = await createTenantWithKey(api, 'big-batches', limits);
    const small = await createTenantWithKey(api, 'small-batches', limits);
    const batch = Array.from({ length: 128 }, () => 'the same short text');

    const first = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key: big.key,
      body: { input: batch },
    });
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-remaining']).toBe('0');
    const second = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key: big.key,
      body: { input: batch },
    });
    expect(second.status).toBe(429);
    expect(second.body.error.code).toBe('rate_limited');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The same number of requests with one input each all fit in the same burst.
    for (let i = 0; i < 4; i++) {
      const one = await api.request({
        method: 'POST',
        url: '/v1/embeddings',
        key: small.key,
        body: { input: 'x' },
      });
      expect(one.status).toBe(200);
    }

    // A request that costs more than the whole burst can never succeed: 413, not a 429 to retry.
    const tooBig = await createTenantWithKey(api, 'too-big', limits);
    const refused = await api.request({
      method: 'POST',
      url: '/v1/embeddings',
      key: tooBig.key,
      body: { input: Array.from({ length: 129 }, () => 'x') },
    });
    expect(refused.status).toBe(413);
    expect(refused.body.error.code).toBe('payload_too_large');
  });
});

describe('rate limiter fails closed when Redis is away (a redis-server of its own, stopped mid-run)', () => {
  let redis: RedisServer;
  let api: ApiHarness;
  let port: number;
  beforeAll(async () => {
    redis = await startRedisServer();
    port = Number(new URL(redis.url).port);
    api = await startApi({ REDIS_URL: redis.url });
  }, 60_000);
  afterAll(async () => {
    await api.close();
    await redis.stop();
  });

  it('answers 503 with Retry-After instead of letting requests through unlimited, and recovers', async () => {
    const seen = await createTenantWithKey(api, 'seen');
    const unseen = await createTenantWithKey(api, 'unseen');
    expect((await api.request({ method: 'GET', url: '/v1/me', key: seen.key })).status).toBe(200);

    await redis.stop();
    // A key this process knows (charged with its revocation check) and one it must look up.
    for (const key of [seen.key, unseen.key]) {
      const res = await api.request({ method: 'GET', url: '/v1/me', key });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('unavailable');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    redis = await startRedisServer({ port });
    await waitUntil(
      'the API to reach the restarted Redis',
      async () => (await api.request({ method: 'GET', url: '/v1/me', key: seen.key })).status === 200,
      30_000,
    );
    expect((await api.request({ method: 'GET', url: '/v1/me', key: unseen.key })).status).toBe(200);
    // Read once Redis is back: a scrape reads the queue depth, which waits for Redis.
    const metrics = String((await api.request({ method: 'GET', url: '/metrics' })).body);
    expect(metrics).toMatch(/^tributary_rate_limit_errors_total\{[^}]*\} [1-9]/m);
  }, 60_000);
});
