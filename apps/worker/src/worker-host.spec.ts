import { loadConfig } from '@tributary/config';
import { Metrics } from '@tributary/observability';
import type { JobHandler } from '@tributary/queue';
import type { Redis } from '@tributary/redis';
import { MissingJobHandlerError, WorkerHost } from './worker-host.service';

const handlers: JobHandler[] = [
  { job: 'ApiKeyUsageFlush', handle: () => Promise.resolve(undefined) },
  { job: 'RequeueOrphanedItems', handle: () => Promise.resolve(undefined) },
];
const redis = {} as Redis;

describe('WorkerHost start-up checks', () => {
  it('refuses to start when a served queue carries a job without a handler', () => {
    const host = new WorkerHost(loadConfig({}), [], redis, new Metrics('worker'));
    expect(() => host.servedQueues()).toThrow(MissingJobHandlerError);
    expect(() => host.servedQueues()).toThrow(
      'queue maintenance carries job ApiKeyUsageFlush but this worker has no handler for it',
    );
  });

  it('serves the queues WORKER_QUEUES names when every job has a handler', () => {
    const host = new WorkerHost(
      loadConfig({ WORKER_QUEUES: 'maintenance' }),
      handlers,
      redis,
      new Metrics('worker'),
    );
    expect(host.servedQueues()).toEqual(['maintenance']);
    // One handler missing is enough to refuse.
    const partial = new WorkerHost(
      loadConfig({ WORKER_QUEUES: 'maintenance' }),
      handlers.slice(0, 1),
      redis,
      new Metrics('worker'),
    );
    expect(() => partial.servedQueues()).toThrow('carries job RequeueOrphanedItems');
  });
});
