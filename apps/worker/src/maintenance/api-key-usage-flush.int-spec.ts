import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { createPrismaClient, DbModule } from '@tributary/db';
import { createRedis, redisKeys, type Redis } from '@tributary/redis';
import { createTestDatabase, testRedisUrl, uniqueRedisPrefix, type TestDatabase } from '@tributary/testing';
import { WORKER_REDIS } from '../worker-redis';
import { ApiKeyUsageFlushHandler } from './api-key-usage-flush.handler';

describe('ApiKeyUsageFlush (real PostgreSQL + Redis)', () => {
  let db: TestDatabase;
  let redis: Redis;
  let handler: ApiKeyUsageFlushHandler;
  let close: () => Promise<void>;
  let prisma: ReturnType<typeof createPrismaClient>;
  let usageKey: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const prefix = uniqueRedisPrefix();
    const config = loadConfig({ DATABASE_URL: db.url, REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix });
    redis = createRedis(testRedisUrl(), 'worker', 'test');
    usageKey = redisKeys(prefix).keyUsage;
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule],
      providers: [ApiKeyUsageFlushHandler, { provide: WORKER_REDIS, useValue: redis }],
    }).compile();
    await moduleRef.init();
    handler = moduleRef.get(ApiKeyUsageFlushHandler);
    prisma = createPrismaClient(db.url, 2);
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await close();
    await prisma.$disconnect();
    await redis.quit();
    await db.drop();
  });

  async function makeKey(name: string) {
    const tenant = await prisma.tenant.create({ data: { name, rateLimitPerSecond: 1, rateLimitBurst: 1 } });
    return prisma.apiKey.create({
      data: { tenantId: tenant.id, name: 'k', prefix: 'trb_x', hash: name.padEnd(64, '0').slice(0, 64) },
    });
  }

  it('moves last-used times from Redis to PostgreSQL and empties the hash', async () => {
    const key = await makeKey('flush-a');
    const at = Date.parse('2026-11-25T10:00:00.000Z');
    await redis.hset(usageKey, key.id, String(at));
    expect(await handler.handle()).toEqual({ flushed: 1 });
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.lastUsedAt?.toISOString()).toBe('2026-11-25T10:00:00.000Z');
    expect(await redis.hlen(usageKey)).toBe(0);
  });

  it('never moves a time backwards', async () => {
    const key = await makeKey('flush-b');
    await redis.hset(usageKey, key.id, String(Date.parse('2026-11-25T12:00:00.000Z')));
    await handler.handle();
    await redis.hset(usageKey, key.id, String(Date.parse('2026-11-25T11:00:00.000Z')));
    await handler.handle();
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.lastUsedAt?.toISOString()).toBe('2026-11-25T12:00:00.000Z');
  });

  it('keeps a time written while the flush was running', async () => {
    const key = await makeKey('flush-c');
    await redis.hset(usageKey, key.id, '1000');
    const original = redis.hgetall.bind(redis);
    // Simulate the API recording a newer use between the flush's read and its delete.
    jest.spyOn(redis, 'hgetall').mockImplementationOnce(async (k) => {
      const value = await original(k);
      await redis.hset(usageKey, key.id, '2000');
      return value;
    });
    await handler.handle();
    expect(await redis.hget(usageKey, key.id)).toBe('2000');
    await handler.handle();
    expect(await redis.hlen(usageKey)).toBe(0);
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.lastUsedAt?.getTime()).toBe(2000);
  });

  it('drops malformed entries and ignores deleted keys', async () => {
    await redis.hset(usageKey, 'not-a-uuid', '5', '00000000-0000-4000-8000-000000000000', 'NaN-ish');
    await redis.hset(usageKey, '00000000-0000-4000-8000-00000000000f', '5');
    expect(await handler.handle()).toEqual({ flushed: 1 });
    expect(await redis.hlen(usageKey)).toBe(0);
  });
});
