import { randomBytes } from 'node:crypto';
import { loadConfig } from '@tributary/config';
import { Metrics } from '@tributary/observability';
import { EmbedQueues } from './embed-queues';
import { itemEmbedJobId, type ItemEmbedData } from './item-embed.job';

describe('EmbedQueues.enqueue (real Redis)', () => {
  // @tributary/testing depends on this library, so the Redis of the test run is read directly.
  const config = loadConfig({
    REDIS_URL: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `t${randomBytes(5).toString('hex')}`,
    MODELS: 'use-lite@1',
  });
  const queues = new EmbedQueues(config, { clientName: 'test' });
  const stream = { id: 'stream-1', tenantId: 'tenant-1', collectionId: 'collection-1', model: 'use-lite@1' };
  const items = (n: number, retries = 0) =>
    Array.from({ length: n }, (_, i) => ({ id: `i${i}`, text: `text ${i}`, retries, acceptedAt: 1_000 + i }));

  afterAll(async () => {
    await queues.for('use-lite@1').obliterate({ force: true });
    await queues.onApplicationShutdown();
  });

  it('puts a stream’s items on its model’s queue as ItemEmbed jobs of up to 100 items, and names each item’s job', async () => {
    const carried = await queues.enqueue(stream, items(250));
    expect(carried.map((c) => c.id)).toEqual(items(250).map((i) => i.id));
    const jobIds = [...new Set(carried.map((c) => c.jobId))];
    expect(jobIds).toHaveLength(3);
    const queue = queues.for('use-lite@1');
    expect(queue.name).toBe('embed-use-lite-1');
    const jobs = await Promise.all(jobIds.map((id) => queue.getJob(id)));
    expect(jobs.map((job) => (job!.data as ItemEmbedData).items.length)).toEqual([100, 100, 50]);
    for (const job of jobs) {
      expect(job!.name).toBe('ItemEmbed');
      expect(job!.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 500 } });
      expect(job!.data).toMatchObject({
        tenantId: 'tenant-1',
        streamId: 'stream-1',
        collectionId: 'collection-1',
      });
      // Each item is named with the job that carries it.
      for (const item of (job!.data as ItemEmbedData).items)
        expect(carried).toContainEqual({ id: item.itemId, jobId: job!.id });
    }
    expect((jobs[2]!.data as ItemEmbedData).items[0]).toEqual({
      itemId: 'i200',
      text: 'text 200',
      acceptedAt: 1_200,
    });
    expect(await queues.depth('use-lite@1')).toBe(3);

    // The same items again are the same jobs; a retry or a suffix makes new ones.
    expect(await queues.enqueue(stream, items(250))).toEqual(carried);
    expect(await queues.depth('use-lite@1')).toBe(3);
    const retried = await queues.enqueue(stream, items(50, 1));
    expect(retried[0]!.jobId).not.toBe(carried[0]!.jobId);
    const requeued = await queues.enqueue(stream, items(50), '.r42');
    expect(new Set(requeued.map((c) => c.jobId))).toEqual(
      new Set([`${itemEmbedJobId('stream-1', items(50))}.r42`]),
    );
    expect(await queues.depth('use-lite@1')).toBe(5);
    expect(await queues.enqueue(stream, [])).toEqual([]);

    const metrics = new Metrics('worker');
    await queues.recordDepth(metrics);
    expect(await metrics.registry.getSingleMetricAsString('tributary_queue_depth')).toMatch(
      /^tributary_queue_depth\{queue="embed-use-lite-1"[^}]*\} 5$/m,
    );
  });
});
