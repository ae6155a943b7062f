import { loadConfig } from '@tributary/config';
import { Metrics } from '@tributary/observability';
import type { JobHandler } from '@tributary/queue';
import type { Redis } from '@tributary/redis';
import { MissingJobHandlerError, WorkerHost } from './worker-host.service';

const handlers: JobHandler[] = [
  { job: 'ApiKeyUsageFlush', handle: () => Promise.resolve(undefined) },
  { job: 'OrphanedItemsRequeue', handle: () => Promise.resolve(undefined) },
  { job: 'RolloutSweep', handle: () => Promise.resolve(undefined) },
  { job: 'ItemEmbed', handle: () => Promise.resolve(undefined) },
  { job: 'RolloutBackfill', handle: () => Promise.resolve(undefined) },
  ...(
    [
      'DriftReportQueueAll',
      'DriftReport',
      'EmbeddingSelfCheckQueueAll',
      'EmbeddingSelfCheck',
      'TopicsUpdateQueueAll',
      'TopicsUpdate',
    ] as const
  ).map((job) => ({ job, handle: () => Promise.resolve(undefined) })),
];
const redis = {} as Redis;
const host = (env: Record<string, string>, served: JobHandler[]) =>
  new WorkerHost(loadConfig(env), served, redis, new Metrics('worker'));

describe('WorkerHost start-up checks', () => {
  it('refuses to start when a served queue carries a job without a handler', () => {
    const empty = host({}, []);
    expect(() => empty.servedQueues()).toThrow(MissingJobHandlerError);
    expect(() => empty.servedQueues()).toThrow(
      'queue maintenance carries job ApiKeyUsageFlush but this worker has no handler for it',
    );
  });

  it('serves the queues WORKER_QUEUES names when every job has a handler', () => {
    expect(host({ WORKER_QUEUES: 'maintenance' }, handlers).servedQueues()).toEqual([
      { name: 'maintenance', family: 'maintenance' },
    ]);
    // One handler missing is enough to refuse.
    expect(() => host({ WORKER_QUEUES: 'maintenance' }, handlers.slice(0, 1)).servedQueues()).toThrow(
      'carries job OrphanedItemsRequeue',
    );
  });

  it('serves every queue, embedding ones included, through the same handler registry', () => {
    expect(host({ MODELS: 'use-lite@1,use-lite-int8@1' }, handlers).servedQueues()).toEqual([
      { name: 'maintenance', family: 'maintenance' },
      { name: 'embed-use-lite-1', family: 'embed', model: 'use-lite@1' },
      { name: 'embed-use-lite-int8-1', family: 'embed', model: 'use-lite-int8@1' },
      { name: 'watch', family: 'watch' },
      { name: 'selfcheck-use-lite-1', family: 'selfcheck', model: 'use-lite@1' },
      { name: 'selfcheck-use-lite-int8-1', family: 'selfcheck', model: 'use-lite-int8@1' },
      { name: 'backfill-use-lite-1', family: 'backfill', model: 'use-lite@1' },
      { name: 'backfill-use-lite-int8-1', family: 'backfill', model: 'use-lite-int8@1' },
    ]);
    expect(
      host(
        { MODELS: 'use-lite@1,use-lite-int8@1', WORKER_QUEUES: 'embed-use-lite-int8-1' },
        handlers,
      ).servedQueues(),
    ).toEqual([{ name: 'embed-use-lite-int8-1', family: 'embed', model: 'use-lite-int8@1' }]);
  });

  it('refuses to serve an embedding queue without the ItemEmbed handler', () => {
    const maintenanceOnly = handlers.filter((h) => h.job !== 'ItemEmbed');
    const embedding = host({ MODELS: 'use-lite@1', WORKER_QUEUES: 'embed-use-lite-1' }, maintenanceOnly);
    expect(() => embedding.servedQueues()).toThrow(MissingJobHandlerError);
    expect(() => embedding.servedQueues()).toThrow(
      'queue embed-use-lite-1 carries job ItemEmbed but this worker has no handler for it',
    );
    // A worker serving only maintenance needs no embedding handler.
    expect(
      host({ MODELS: 'use-lite@1', WORKER_QUEUES: 'maintenance' }, maintenanceOnly).servedQueues(),
    ).toEqual([{ name: 'maintenance', family: 'maintenance' }]);
  });

  it('refuses a queue no model or family names', () => {
    expect(() =>
      host({ MODELS: 'use-lite@1', WORKER_QUEUES: 'embed-nope-1' }, handlers).servedQueues(),
    ).toThrow(/WORKER_QUEUES: unknown queue\(s\) embed-nope-1/);
  });
});
