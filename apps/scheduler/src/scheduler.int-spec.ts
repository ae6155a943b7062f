import { loadConfig } from '@tributary/config';
import { createQueue, jobOptions } from '@tributary/queue';
import { testRedisUrl, uniqueRedisPrefix } from '@tributary/testing';
import { SchedulerService } from './scheduler.service';

describe('SchedulerService (real Redis)', () => {
  const configFor = (prefix: string) =>
    loadConfig({
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      KEY_USAGE_FLUSH_EVERY_MS: '5000',
      ORPHAN_SWEEP_EVERY_MS: '7000',
      ROLLOUT_SWEEP_EVERY_MS: '9000',
      DRIFT_REPORT_EVERY_MS: '86400000',
      SELF_CHECK_EVERY_MS: '600000',
      TRENDS_UPDATE_EVERY_MS: '4000',
    });

  async function start(prefix: string): Promise<void> {
    const scheduler = new SchedulerService(configFor(prefix));
    await scheduler.onApplicationBootstrap();
    await scheduler.onApplicationShutdown();
  }

  it('registers each recurring job once, however often it starts', async () => {
    const prefix = uniqueRedisPrefix();
    for (let i = 0; i < 2; i++) await start(prefix);
    const queue = createQueue('maintenance', { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers).toHaveLength(3);
      const byKey = Object.fromEntries(schedulers.map((s) => [s.key, s]));
      expect(byKey['ApiKeyUsageFlush']).toMatchObject({ name: 'ApiKeyUsageFlush', every: 5000 });
      expect(byKey['OrphanedItemsRequeue']).toMatchObject({ name: 'OrphanedItemsRequeue', every: 7000 });
      expect(byKey['RolloutSweep']).toMatchObject({ name: 'RolloutSweep', every: 9000 });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    const watch = createQueue('watch', { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      const schedulers = await watch.getJobSchedulers();
      const every = Object.fromEntries(schedulers.map((s) => [s.key, s.every]));
      // The drift fan-out runs at least hourly, whatever the report period.
      expect(every).toEqual({
        DriftReportQueueAll: 3_600_000,
        EmbeddingSelfCheckQueueAll: 600_000,
        TopicsUpdateQueueAll: 4000,
      });
    } finally {
      await watch.obliterate({ force: true });
      await watch.close();
    }
  });

  it('removes the job scheduler an earlier version registered under the old name, and its next job', async () => {
    const prefix = uniqueRedisPrefix();
    const queue = createQueue('maintenance', { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      // As the version before the rename left it between two runs: its next job delayed.
      await queue.upsertJobScheduler(
        'RequeueOrphanedItems',
        { every: 60_000, startDate: Date.now() + 60_000 },
        { name: 'RequeueOrphanedItems', data: {}, opts: jobOptions.OrphanedItemsRequeue },
      );
      expect((await queue.getDelayed()).map((job) => job.name)).toEqual(['RequeueOrphanedItems']);

      await start(prefix);
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).toEqual([
        'ApiKeyUsageFlush',
        'OrphanedItemsRequeue',
        'RolloutSweep',
      ]);
      // Only the new scheduler's job waits for the sweep: it would not run twice as often. (A job
      // already waiting under the old name is run by the worker as OrphanedItemsRequeue.)
      const upcoming = await queue.getJobs(['delayed', 'waiting', 'prioritized']);
      expect(upcoming.map((job) => job.name).sort()).toEqual([
        'ApiKeyUsageFlush',
        'OrphanedItemsRequeue',
        'RolloutSweep',
      ]);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
