import { createNamedQueue, type Queue } from './bullmq';
import { embedQueueName } from './embed-jobs';

/** Producers for the per-model embedding queues, each opened on first use and kept. */
export class EmbedQueueProducers {
  private readonly queues = new Map<string, Queue>();

  constructor(
    /** `REDIS_URL` and `REDIS_PREFIX` of the configuration; no connection is made until a queue is used. */
    private readonly config: { REDIS_URL?: string | undefined; REDIS_PREFIX: string },
    /** Names the Redis connections (`<clientName>:<queue>`). */
    private readonly clientName: string,
  ) {}

  /** The queue of one model version. */
  for(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      if (!this.config.REDIS_URL) throw new Error('REDIS_URL is not set');
      const name = embedQueueName(model);
      queue = createNamedQueue(
        name,
        { redisUrl: this.config.REDIS_URL, prefix: this.config.REDIS_PREFIX },
        `${this.clientName}:${name}`,
      );
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** The queues opened so far, by model. */
  opened(): [string, Queue][] {
    return [...this.queues.entries()];
  }

  /** Jobs waiting, delayed or running in one model's queue. */
  async depth(model: string): Promise<number> {
    const counts = await this.for(model).getJobCounts(
      'waiting',
      'delayed',
      'prioritized',
      'active',
      'waiting-children',
    );
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * Of the given job ids of one model's queue, those whose job will not deliver its items any more:
   * gone from Redis (completed jobs are removed; a Redis crash loses its last writes) or finished
   * (failed for good, or completed and kept). One pipelined HMGET per job, whatever the queue's
   * backlog: a waiting, delayed, active or stalled job has its hash and no `finishedOn`.
   */
  async finishedOrGone(model: string, jobIds: string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    const backend = this.for(model).getBackend();
    const pipeline = (await backend.client).pipeline();
    for (const id of jobIds) pipeline.runCommand('hmget', [backend.toKey(id), 'timestamp', 'finishedOn']);
    const replies = (await pipeline.exec()) ?? [];
    const done = new Set<string>();
    jobIds.forEach((id, i) => {
      const [err, fields] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      const [created, finished] = fields as (string | null)[];
      if (created === null || finished !== null) done.add(id);
    });
    return done;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
