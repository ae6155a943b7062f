import { randomUUID } from 'node:crypto';
import { loadConfig } from '@tributary/config';
import { DomainError, RateLimitedError, UnavailableError } from '@tributary/contracts';
import { redisKeys } from '@tributary/redis';
import { testRedisUrl, uniqueRedisPrefix } from '@tributary/testing';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { RateLimiter, type RequestCharge } from './rate-limiter';

const counted = async (metrics: MetricsService, name: string, labels: Record<string, string> = {}) => {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

describe('RateLimiter (token buckets in real Redis)', () => {
  const config = loadConfig({
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: uniqueRedisPrefix(),
    INGEST_TENANT_ITEMS_PER_SECOND: '1',
    INGEST_TENANT_ITEMS_BURST: '10',
  });
  let redis: RedisService;
  let metrics: MetricsService;
  let limiter: RateLimiter;
  beforeAll(async () => {
    redis = new RedisService(config);
    await redis.onModuleInit();
  });
  beforeEach(() => {
    metrics = new MetricsService();
    limiter = new RateLimiter(redis, metrics, config);
  });
  afterAll(() => redis.onApplicationShutdown());

  const tenant = (burst = 3) => ({ id: randomUUID(), rateLimitPerSecond: 1, rateLimitBurst: burst });
  const charged = (charge: RequestCharge) => {
    if (charge.revoked) throw new Error('unexpectedly revoked');
    return charge;
  };

  it('charges requests from the tenant bucket, saying the limit and what remains, then refuses with a 429 to answer', async () => {
    const t = tenant(3);
    const first = charged(await limiter.chargeRequest(t, 2));
    expect(first).toEqual({ revoked: false, limit: 3, remaining: 1 });
    const refused = charged(await limiter.chargeRequest(t, 2));
    expect(refused.remaining).toBe(1);
    expect(refused.refusal).toBeInstanceOf(RateLimitedError);
    expect(refused.refusal!.message).toBe(
      'Rate limit of 1 tokens/s (burst 3) exceeded; this request costs 2',
    );
    expect(refused.refusal!.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.refusal!.retryAfterSeconds).toBeLessThanOrEqual(1);
    expect(await counted(metrics, 'tributary_rate_limit_rejections_total')).toBe(1);
    // Another tenant has its own bucket.
    expect(charged(await limiter.chargeRequest(tenant(3), 3)).refusal).toBeUndefined();
  });

  it('charges nothing for a revoked key, in the same round trip', async () => {
    const t = tenant(1);
    const marker = `${config.REDIS_PREFIX}:revoked-test:${randomUUID()}`;
    await redis.client.set(marker, '1');
    expect(await limiter.chargeRequest(t, 1, marker)).toEqual({ revoked: true });
    // The bucket is still full: the one token is there for an unrevoked request.
    expect(charged(await limiter.chargeRequest(t, 1)).refusal).toBeUndefined();
  });

  it('charges items from the ingest bucket, apart from the request bucket, with a 429 beyond it', async () => {
    const tenantId = randomUUID();
    expect(limiter.maxItemsPerCharge).toBe(10);
    await limiter.chargeItems(tenantId, 10);
    const refusal = await limiter.chargeItems(tenantId, 1).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(RateLimitedError);
    expect((refusal as RateLimitedError).message).toBe('Ingest rate of 1 items/s (burst 10) exceeded');
    expect(await counted(metrics, 'tributary_ingest_rejections_total', { reason: 'tenant_rate' })).toBe(1);
    // The same tenant's requests are charged elsewhere.
    const requests = charged(await limiter.chargeRequest({ ...tenant(1), id: tenantId }, 1));
    expect(requests.refusal).toBeUndefined();
    expect(await redis.client.exists(redisKeys(config.REDIS_PREFIX).ingestRate(tenantId))).toBe(1);
  });

  it('refuses with 413, not 429, what could never fit in one burst', async () => {
    const err = await limiter.chargeItems(randomUUID(), 11).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('payload_too_large');
    expect((err as DomainError).message).toContain('costs 11 items but at most 10 fit in one burst');
    const request = await limiter.chargeRequest(tenant(2), 3).catch((e: unknown) => e);
    expect((request as DomainError).code).toBe('payload_too_large');
    expect((request as DomainError).message).toContain('3 request tokens');
  });

  it('fails closed: 503 with Retry-After when Redis cannot be asked', async () => {
    const down = { client: { evalsha: () => Promise.reject(new Error('connection refused')) } };
    const closed = new RateLimiter(down as unknown as RedisService, metrics, config);
    const err = await closed.chargeItems(randomUUID(), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retryAfterSeconds).toBe(1);
    await expect(closed.chargeRequest(tenant(), 1)).rejects.toBeInstanceOf(UnavailableError);
    expect(await counted(metrics, 'tributary_rate_limit_errors_total')).toBe(2);
  });
});
