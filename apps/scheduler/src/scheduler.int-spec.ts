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
    });
    for (let i = 0; i < 2; i++) {
      const scheduler = new SchedulerService(config);
      await scheduler.onApplicationBootstrap();
      await scheduler.onApplicationShutdown();
    }
    const queue = createQueue('maintenance', { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0]).toMatchObject({ key: 'ApiKeyUsageFlush', name: 'ApiKeyUsageFlush', every: 5000 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
