import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { createRedis, liveLoadedModelsBeat, redisKeys, type Redis } from '@tributary/redis';
import { testRedisUrl, uniqueRedisPrefix } from '@tributary/testing';
import { startEmbeddingWorker } from '../testing/embedding-worker';
import { WORKER_REDIS } from '../worker-redis';
import { MODEL_HEARTBEAT_TTL_MS, ModelHeartbeat } from './model-heartbeat.service';

describe('ModelHeartbeat (real Redis)', () => {
  let redis: Redis;
  let key: string;
  let heartbeat: ModelHeartbeat;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const prefix = uniqueRedisPrefix();
    key = redisKeys(prefix).modelsLoaded;
    redis = createRedis(testRedisUrl(), 'worker', 'test');
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(loadConfig({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix }))],
      providers: [ModelHeartbeat, { provide: WORKER_REDIS, useValue: redis }],
    }).compile();
    await moduleRef.init();
    heartbeat = moduleRef.get(ModelHeartbeat);
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await close();
    await redis.quit();
  });

  it('announces the loaded models at once, for the TTL, and withdraws them', async () => {
    const before = Date.now();
    await heartbeat.announce(['use-lite@1', 'use-lite-int8@1']);
    const entry = liveLoadedModelsBeat((await redis.hget(key, heartbeat.processId))!, Date.now());
    expect(entry).toEqual({
      app: 'worker',
      models: ['use-lite@1', 'use-lite-int8@1'],
      expiresAt: expect.any(Number),
    });
    expect(entry!.expiresAt).toBeGreaterThanOrEqual(before + MODEL_HEARTBEAT_TTL_MS);
    // The whole hash expires with its last writer.
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(MODEL_HEARTBEAT_TTL_MS);

    await heartbeat.withdraw();
    expect(await redis.hget(key, heartbeat.processId)).toBeNull();
  });

  it('drops the entries of processes that stopped beating, and keeps live ones', async () => {
    const now = Date.now();
    await redis.hset(key, {
      dead: JSON.stringify({ app: 'worker', models: ['use-lite@1'], expiresAt: now - 1 }),
      garbled: 'not json',
      alive: JSON.stringify({ app: 'worker', models: ['use-lite@1'], expiresAt: now + 60_000 }),
    });
    await heartbeat.announce(['use-lite@1']);
    expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(['alive', heartbeat.processId].sort());
    // An entry read after its expiry does not count, even before a writer removes it.
    const mine = (await redis.hget(key, heartbeat.processId))!;
    expect(liveLoadedModelsBeat(mine, now + MODEL_HEARTBEAT_TTL_MS + 1_000)).toBeNull();
    await heartbeat.withdraw();
  });
});

describe('a real worker announces the models it loaded (WorkerModule, real model)', () => {
  it('lists use-lite@1 while it runs and nothing once it has stopped', async () => {
    const worker = await startEmbeddingWorker();
    const redis = createRedis(testRedisUrl(), 'worker', 'test');
    const key = redisKeys(worker.prefix).modelsLoaded;
    let running = true;
    try {
      const entries = Object.values(await redis.hgetall(key)).map((v) => liveLoadedModelsBeat(v, Date.now()));
      expect(entries).toEqual([{ app: 'worker', models: ['use-lite@1'], expiresAt: expect.any(Number) }]);
      running = false;
      await worker.close();
      expect(await redis.hlen(key)).toBe(0);
    } finally {
      if (running) await worker.close();
      await redis.quit();
    }
  }, 60_000);
});
