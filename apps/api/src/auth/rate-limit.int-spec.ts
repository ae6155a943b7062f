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
    await new Promise((r) => setTimeout(r, 20));
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
