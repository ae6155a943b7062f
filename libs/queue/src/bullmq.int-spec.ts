import { randomBytes } from 'node:crypto';
import { createQueue, createWorker, queueWaitListKey, STALLED_CHECK_MAX_INTERVAL_MS } from './bullmq';
import { embedQueueName } from './jobs';
import { createRedis } from '@tributary/redis';

describe('createWorker (real Redis)', () => {
  // @tributary/testing depends on this library, so the Redis of the test run is read directly.
  const connection = {
    redisUrl: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    prefix: `t${randomBytes(5).toString('hex')}`,
  };

  it.each([2_000, 30_000, 120_000])(
    'with a %i ms lock, checks for stalled jobs at most 5 s apart, so a killed worker’s jobs come back about a lock duration after the kill',
    async (lockDurationMs) => {
      const worker = createWorker('stall-check', () => Promise.resolve(), connection, {
        concurrency: 1,
        lockDurationMs,
      });
      try {
        expect(worker.opts.lockDuration).toBe(lockDurationMs);
        expect(worker.opts.stalledInterval).toBe(Math.min(lockDurationMs, STALLED_CHECK_MAX_INTERVAL_MS));
        expect(worker.opts.stalledInterval).toBeLessThanOrEqual(5_000);
      } finally {
        await worker.close();
      }
    },
  );
});

describe('queueWaitListKey (real Redis)', () => {
  const connection = {
    redisUrl: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    prefix: `t${randomBytes(5).toString('hex')}`,
  };

  it('names the Redis list that holds the waiting jobs of a queue, as an autoscaler reads it', async () => {
    const name = embedQueueName('use-lite@1');
    const queue = createQueue(name, connection, 'wait-key-test');
    const redis = createRedis(connection.redisUrl, 'worker', 'wait-key-test-reader');
    try {
      await queue.addBulk([1, 2, 3].map((i) => ({ name: 'ItemEmbed', data: { i } })));
      const key = queueWaitListKey(connection.prefix, name);
      expect(key).toBe(`${connection.prefix}:bull:${name}:wait`);
      expect(await redis.type(key)).toBe('list');
      expect(await redis.llen(key)).toBe(3);
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  });
});
