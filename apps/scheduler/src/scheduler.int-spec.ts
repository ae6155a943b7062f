import { loadConfig } from '@tributary/config';
import { createQueue } from '@tributary/queue';
import { testRedisUrl, uniqueRedisPrefix } from '@tributary/testing';
import { SchedulerService } from './scheduler.service';

describe('SchedulerService (real Redis)', () => {
  it('registers each recurring job once, however often it starts', async () => {
    const prefix = uniqueRedisPrefix();
    const config = loadConfig({
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      KEY_USAGE_FLUSH_EVERY_MS: '5000',
      ORPHAN_SWEEP_EVERY_MS: '7000',
    });
    for (let i = 0; i < 2; i++) {
      const scheduler = new SchedulerService(config);
      await scheduler.onApplicationBootstrap();
      await scheduler.onApplicationShutdown();
    }
    const queue = createQueue('maintenance', { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(2);
      const byKey = Object.fromEntries(schedulers.map((s) => [s.key, s]));
      expect(byKey['ApiKeyUsageFlush']).toMatchObject({ name: 'ApiKeyUsageFlush', every: 5000 });
      expect(byKey['RequeueOrphanedItems']).toMatchObject({ name: 'RequeueOrphanedItems', every: 7000 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
