import { loadConfig } from '@tributary/config';
import { Metrics } from '@tributary/observability';
import {
  bullPrefix,
  createQueue,
  type Job,
  type JobHandler,
  type Queue,
  type QueueRef,
} from '@tributary/queue';
import { createRedis, type Redis } from '@tributary/redis';
import { testRedisUrl, uniqueRedisPrefix, waitUntil } from '@tributary/testing';
import { WorkerHost } from './worker-host.service';

/** A promise and the function that settles it, to hold a job in hand until the test lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('WorkerHost (real Redis)', () => {
  const prefix = uniqueRedisPrefix();
  const config = loadConfig({
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    MODELS: 'use-lite@1',
    WORKER_QUEUES: 'all',
    EMBED_WORKER_LOCK_MS: '2000',
  });
  const connection = { redisUrl: testRedisUrl(), prefix };
  const events: string[] = [];
  const handled: { job: string; name: string; queue: string }[] = [];
  let hold: ReturnType<typeof gate> | undefined;
  const record =
    (job: JobHandler['job']) =>
    async (j: Job): Promise<void> => {
      handled.push({ job, name: j.name, queue: j.queueName });
      if (hold) {
        events.push(`${job} started`);
        await hold.opened;
        events.push(`${job} finished`);
      }
    };
  const handlers: JobHandler[] = [
    {
      job: 'ItemEmbed',
      open: (queues: readonly QueueRef[]) => {
        events.push(`ItemEmbed opened for ${queues.map((q) => q.model).join(',')}`);
        return Promise.resolve();
      },
      handle: record('ItemEmbed'),
      close: () => {
        events.push('ItemEmbed closed');
        return Promise.resolve();
      },
    },
    { job: 'ApiKeyUsageFlush', handle: record('ApiKeyUsageFlush') },
    { job: 'OrphanedItemsRequeue', handle: record('OrphanedItemsRequeue') },
    { job: 'RolloutSweep', handle: record('RolloutSweep') },
    { job: 'RolloutBackfill', handle: record('RolloutBackfill') },
    ...(
      [
        'DriftReportQueueAll',
        'DriftReport',
        'EmbeddingSelfCheckQueueAll',
        'EmbeddingSelfCheck',
        'TopicsUpdateQueueAll',
        'TopicsUpdate',
      ] as const
    ).map((job) => ({ job, handle: record(job) })),
  ];
  const metrics = new Metrics('worker');
  let host: WorkerHost;
  let redis: Redis;
  let maintenance: Queue;
  let embed: Queue;
  let reader: Redis;
  let closed = false;

  beforeAll(async () => {
    redis = createRedis(testRedisUrl(), 'worker', 'worker');
    reader = createRedis(testRedisUrl(), 'worker', 'test-reader');
    host = new WorkerHost(config, handlers, redis, metrics);
    await host.onApplicationBootstrap();
    maintenance = createQueue('maintenance', connection, 'test');
    embed = createQueue('embed-use-lite-1', connection, 'test');
  });

  afterAll(async () => {
    hold?.open();
    if (!closed) {
      await host.onModuleDestroy();
      await host.onApplicationShutdown();
    }
    await maintenance.obliterate({ force: true });
    await embed.obliterate({ force: true });
    await Promise.all([maintenance.close(), embed.close()]);
    reader.disconnect();
  });

  async function processed(job: string, outcome: string): Promise<number> {
    const metric = await metrics.jobsProcessed.get();
    return metric.values
      .filter((v) => v.labels.job === job && v.labels.outcome === outcome)
      .reduce((sum, v) => sum + v.value, 0);
  }

  it('opens the embedding handler for the served models before their queue takes jobs', () => {
    expect(events).toEqual(['ItemEmbed opened for use-lite@1']);
  });

  it('processes jobs under the names they had before the upgrade as the jobs they became', async () => {
    await maintenance.add('RequeueOrphanedItems', {});
    await maintenance.add('OrphanedItemsRequeue', {});
    await embed.add('EmbedItem', { tenantId: 't', streamId: 's', collectionId: 'c', items: [] });
    await embed.add('ItemEmbed', { tenantId: 't', streamId: 's', collectionId: 'c', items: [] });
    await waitUntil('the four jobs to be handled', () => Promise.resolve(handled.length === 4));
    expect(handled.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { job: 'ItemEmbed', name: 'EmbedItem', queue: 'embed-use-lite-1' },
      { job: 'ItemEmbed', name: 'ItemEmbed', queue: 'embed-use-lite-1' },
      { job: 'OrphanedItemsRequeue', name: 'OrphanedItemsRequeue', queue: 'maintenance' },
      { job: 'OrphanedItemsRequeue', name: 'RequeueOrphanedItems', queue: 'maintenance' },
    ]);
    // Counted under the job they are now, on the queue that carried them.
    await waitUntil('the jobs to be counted', async () => (await processed('ItemEmbed', 'completed')) === 2);
    await waitUntil(
      'the jobs to be counted',
      async () => (await processed('OrphanedItemsRequeue', 'completed')) === 2,
    );
    const metric = await metrics.jobsProcessed.get();
    expect(
      metric.values.map((v) => v.labels).sort((a, b) => String(a.job).localeCompare(String(b.job))),
    ).toEqual([
      { queue: 'embed-use-lite-1', job: 'ItemEmbed', outcome: 'completed' },
      { queue: 'maintenance', job: 'OrphanedItemsRequeue', outcome: 'completed' },
    ]);
  });

  it('fails a job no handler knows at once, without retries', async () => {
    const job = await maintenance.add('NoSuchJob', {}, { attempts: 3 });
    await waitUntil('the job to fail', async () => (await job.isFailed()) === true);
    const failed = (await maintenance.getJob(job.id!))!;
    expect(failed.failedReason).toBe('no handler for job NoSuchJob');
    expect(failed.attemptsMade).toBe(1);
  });

  it('holds each queue’s jobs with its family’s lock, and on shutdown finishes the jobs in hand before closing the handlers', async () => {
    hold = gate();
    events.length = 0;
    const embedJob = await embed.add('ItemEmbed', {
      tenantId: 't',
      streamId: 's',
      collectionId: 'c',
      items: [],
    });
    const flushJob = await maintenance.add('ApiKeyUsageFlush', {});
    await waitUntil('both jobs to be in hand', () => Promise.resolve(events.length === 2));
    // EMBED_WORKER_LOCK_MS for the embedding queue; BullMQ's 30 s for maintenance.
    const lockTtl = (queue: string, id: string) => reader.pttl(`${bullPrefix(prefix)}:${queue}:${id}:lock`);
    const embedTtl = await lockTtl('embed-use-lite-1', embedJob.id!);
    const flushTtl = await lockTtl('maintenance', flushJob.id!);
    expect(embedTtl).toBeGreaterThan(0);
    expect(embedTtl).toBeLessThanOrEqual(2_000);
    expect(flushTtl).toBeGreaterThan(2_000);
    expect(flushTtl).toBeLessThanOrEqual(30_000);

    // Let the jobs go a while after shutdown began: closing must wait for them.
    const release = setTimeout(() => hold!.open(), 500);
    await host.onModuleDestroy();
    clearTimeout(release);
    events.push('workers closed');
    // Finished, not handed back: the jobs completed before the workers closed.
    expect(await embedJob.isCompleted()).toBe(true);
    expect(await flushJob.isCompleted()).toBe(true);
    await host.onApplicationShutdown();
    closed = true;
    expect(events.slice(0, 2).sort()).toEqual(['ApiKeyUsageFlush started', 'ItemEmbed started']);
    expect(events.slice(2, 4).sort()).toEqual(['ApiKeyUsageFlush finished', 'ItemEmbed finished']);
    expect(events.slice(4)).toEqual(['workers closed', 'ItemEmbed closed']);
    // The connection closes last.
    await waitUntil('the connection to close', () => Promise.resolve(redis.status === 'end'));
    hold = undefined;
  });
});
