import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, redisUrlOf, type Config } from '@tributary/config';
import type { Metrics } from '@tributary/observability';
import { createQueue, type Queue } from './bullmq';
import {
  enqueuedItems,
  itemEmbedJobs,
  type EnqueuedItem,
  type ItemToEnqueue,
  type StreamRef,
} from './item-embed.job';
import {
  backfillQueueName,
  embedQueueName,
  jobOptions,
  queueOf,
  selfCheckQueueName,
  type JobData,
  type JobName,
  type RolloutBackfillData,
  type SingleQueueJob,
} from './jobs';

/** Nest token of the {@link QueueModule}'s options. */
export const QUEUE_OPTIONS = Symbol('tributary.queue-options');

export interface QueueOptions {
  /** Names the producers' Redis connections: `<clientName>:<queue>`. */
  clientName: string;
  /**
   * Open every configured model's queue at start (the API: before traffic arrives), rather than
   * on first use. @defaultValue false
   */
  openAtStart?: boolean;
}

/**
 * The producers of the per-model embedding queues, each opened on first use and kept: the one
 * place items are put on a queue (ingest, retries, the orphan sweep) and queues are measured.
 */
@Injectable()
export class EmbedQueues implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EmbedQueues');
  private readonly queues = new Map<string, Queue>();
  private readonly backfillQueues = new Map<string, Queue>();
  private readonly selfCheckQueues = new Map<string, Queue>();
  /** The single queues (`watch`, ...) by name. */
  private readonly singleQueues = new Map<string, Queue>();

  constructor(
    /** `REDIS_URL` and `REDIS_PREFIX`; no connection is made until a queue is used. */
    @Inject(CONFIG) private readonly config: Config,
    @Inject(QUEUE_OPTIONS) private readonly options: QueueOptions,
  ) {}

  /** With `openAtStart`: opens every configured model's queue (a fail-fast connection must be up first). */
  async onModuleInit(): Promise<void> {
    if (!this.options.openAtStart) return;
    await Promise.all(
      this.config.MODELS.map((m) =>
        this.for(m)
          .waitUntilReady()
          .catch((err: Error) => this.logger.warn(`queue for ${m} not ready yet: ${err.message}`)),
      ),
    );
  }

  /** The queue of one model version. */
  for(model: string): Queue {
    return this.open(this.queues, embedQueueName(model), model);
  }

  private open(queues: Map<string, Queue>, name: string, model: string): Queue {
    let queue = queues.get(model);
    if (!queue) {
      queue = createQueue(
        name,
        { redisUrl: redisUrlOf(this.config), prefix: this.config.REDIS_PREFIX },
        `${this.options.clientName}:${name}`,
      );
      queues.set(model, queue);
    }
    return queue;
  }

  /**
   * Puts a stream's items on the queue of another live version's model as dual-write jobs: they
   * embed the items into that version only (`versionId`) and count nothing. Ids derive from the
   * items and the version (and `idSuffix`), so a repeat adds nothing.
   */
  async enqueueVersion(
    stream: StreamRef,
    version: { id: string; model: string },
    items: ItemToEnqueue[],
    idSuffix = '',
  ): Promise<void> {
    if (items.length === 0) return;
    await this.addItemEmbedJobs(version.model, itemEmbedJobs(stream, items, idSuffix, version.id));
  }

  /**
   * Puts a rollout's backfill on its candidate model's backfill queue. `step` names the delivery
   * (a job re-adds itself with the next one); the same step twice is one job.
   */
  async enqueueBackfill(model: string, data: RolloutBackfillData, step: string): Promise<void> {
    await this.open(this.backfillQueues, backfillQueueName(model), model).add('RolloutBackfill', data, {
      ...jobOptions.RolloutBackfill,
      jobId: `rollout.${data.rolloutId}.${step}`,
    });
  }

  /** Puts a self-check of a collection on its model's self-check queue; the same id twice is one job. */
  async enqueueSelfCheck(model: string, data: JobData<'EmbeddingSelfCheck'>, jobId: string): Promise<void> {
    await this.open(this.selfCheckQueues, selfCheckQueueName(model), model).add('EmbeddingSelfCheck', data, {
      ...jobOptions.EmbeddingSelfCheck,
      jobId,
    });
  }

  /** Puts a job on the single queue that carries it; the same id twice is one job. */
  async enqueueSingle<N extends SingleQueueJob>(job: N, data: JobData<N>, jobId: string): Promise<void> {
    const name = queueOf(job);
    await this.open(this.singleQueues, name, name).add(job, data, { ...jobOptions[job], jobId });
  }

  /** Jobs waiting on, or being run from, one model's embedding queue (what a backfill gives way to). */
  busy(model: string): Promise<number> {
    return this.count(model, 'waiting', 'prioritized', 'active');
  }

  /**
   * Puts a stream's items on its model's queue as `ItemEmbed` jobs and returns each item with the
   * id of the job carrying it, for the caller to record with the item. The ids derive from the
   * items (and their retries), so enqueueing the same items again adds nothing; `idSuffix` makes
   * new ids for items whose job was lost but may still be known to BullMQ (kept as failed, say).
   * Resolves once Redis has taken every job; on a rejection some may have been taken, which is
   * harmless: the caller records nothing, and sending the items again finds the same jobs.
   */
  async enqueue(stream: StreamRef, items: ItemToEnqueue[], idSuffix = ''): Promise<EnqueuedItem[]> {
    if (items.length === 0) return [];
    const jobs = itemEmbedJobs(stream, items, idSuffix);
    await this.addItemEmbedJobs(stream.model, jobs);
    return enqueuedItems(jobs);
  }

  /** `ItemEmbed` jobs added to one model's queue under their own ids, with the job's options. */
  private async addItemEmbedJobs(model: string, jobs: ReturnType<typeof itemEmbedJobs>): Promise<void> {
    await this.for(model).addBulk(
      jobs.map(({ jobId, data }) => ({
        name: 'ItemEmbed' satisfies JobName,
        data,
        opts: { ...jobOptions.ItemEmbed, jobId },
      })),
    );
  }

  /** Jobs waiting, delayed or running in one model's queue. */
  depth(model: string): Promise<number> {
    return this.count(model, 'waiting', 'delayed', 'prioritized', 'active', 'waiting-children');
  }

  /** Jobs of one model's embedding queue in these states, together. */
  private async count(model: string, ...states: Parameters<Queue['getJobCounts']>): Promise<number> {
    const counts = await this.for(model).getJobCounts(...states);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Sets the queue depth gauge of every queue opened so far (at scrape time; a failure leaves the last value). */
  async recordDepth(metrics: Pick<Metrics, 'queueDepth'>): Promise<void> {
    await Promise.all(
      [...this.queues.keys()].map(async (model) => {
        try {
          metrics.queueDepth.set({ queue: embedQueueName(model) }, await this.depth(model));
        } catch {
          // Redis away: readiness reports it; the gauge keeps its last value.
        }
      }),
    );
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

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(
      [this.queues, this.backfillQueues, this.selfCheckQueues, this.singleQueues].flatMap((queues) =>
        [...queues.values()].map((q) => q.close()),
      ),
    );
  }
}
