import { randomBytes } from 'node:crypto';
import type { Redis } from '@tributary/redis';
import { EmbeddingCache } from './embedding-cache';
import { createRedis, waitForRedis } from '@tributary/redis';

describe('EmbeddingCache (real Redis)', () => {
  let redis: Redis;
  // @tributary/testing depends on this library, so the Redis of the test run is read directly.
  const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  const prefix = `t${randomBytes(5).toString('hex')}`;
  const vector = Float32Array.from({ length: 8 }, (_, i) => i / 8);
  const a = (text: string) => ({ tenantId: 'a', text });

  beforeAll(async () => {
    redis = createRedis(redisUrl, 'producer', 'cache-spec');
    await waitForRedis(redis);
  });
  afterAll(() => redis.disconnect());

  it('gives back what was stored, position for position, with the lifetime asked for', async () => {
    const cache = new EmbeddingCache(redis, {
      prefix,
      ttlSeconds: 600,
      format: 'float32',
      scope: 'tenant',
    });
    await cache.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'stored', vector }]);
    const [missing, stored] = await cache.getMany('m@1', 'passage', [a('not stored'), a('stored')], 8);
    expect(missing).toBeUndefined();
    expect(stored).toEqual(vector);
    expect(await redis.ttl(cache.key('m@1', 'passage', a('stored')))).toBeGreaterThan(590);

    await cache.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'short', vector }], 5);
    expect(await redis.ttl(cache.key('m@1', 'passage', a('short')))).toBeLessThanOrEqual(5);
    // Another input type or model is another entry.
    expect(await cache.getMany('m@1', 'query', [a('stored')], 8)).toEqual([undefined]);
    expect(await cache.getMany('m@2', 'passage', [a('stored')], 8)).toEqual([undefined]);
  });

  it('stores nothing with a lifetime of 0, or when the cache is off', async () => {
    const cache = new EmbeddingCache(redis, {
      prefix,
      ttlSeconds: 600,
      format: 'float32',
      scope: 'tenant',
    });
    await cache.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'not kept', vector }], 0);
    expect(await redis.exists(cache.key('m@1', 'passage', a('not kept')))).toBe(0);
    const off = new EmbeddingCache(redis, { prefix, ttlSeconds: 0, format: 'float32', scope: 'tenant' });
    await off.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'off', vector }]);
    expect(await redis.exists(off.key('m@1', 'passage', a('off')))).toBe(0);
    await cache.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'off', vector }]);
    expect(await off.getMany('m@1', 'passage', [a('off')], 8)).toEqual([undefined]);
  });

  it('throws when Redis refuses the writes (a pipeline does not throw by itself)', async () => {
    const down = createRedis('redis://127.0.0.1:1', 'producer', 'cache-spec-down');
    down.on('error', () => undefined);
    try {
      const cache = new EmbeddingCache(down, {
        prefix,
        ttlSeconds: 600,
        format: 'float32',
        scope: 'tenant',
      });
      await expect(
        cache.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'lost', vector }]),
      ).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });

  it("keeps each tenant's entries to itself by default, and shares them with scope global", async () => {
    const scoped = new EmbeddingCache(redis, {
      prefix,
      ttlSeconds: 600,
      format: 'float32',
      scope: 'tenant',
    });
    await scoped.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'private text', vector }]);
    const [forA, forB] = await scoped.getMany(
      'm@1',
      'passage',
      [a('private text'), { tenantId: 'b', text: 'private text' }],
      8,
    );
    expect(forA).toEqual(vector);
    expect(forB).toBeUndefined();

    const shared = new EmbeddingCache(redis, {
      prefix,
      ttlSeconds: 600,
      format: 'float32',
      scope: 'global',
    });
    await shared.setMany('m@1', 'passage', [{ tenantId: 'a', text: 'shared text', vector }]);
    expect(await shared.getMany('m@1', 'passage', [{ tenantId: 'b', text: 'shared text' }], 8)).toEqual([
      vector,
    ]);
    // The two scopes never read each other's entries.
    expect(await scoped.getMany('m@1', 'passage', [a('shared text')], 8)).toEqual([undefined]);
  });
});
