import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  CollectionRepository,
  ItemEmbeddingRepository,
  ItemVectorRepository,
  PrismaService,
} from '@tributary/db';
import type { EmbeddingEngine } from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import {
  UnrecoverableError,
  type ItemEmbedData,
  type Job,
  type JobHandler,
  type QueueRef,
  type StreamItem,
} from '@tributary/queue';
import { type Redis } from '@tributary/redis';
import { EnsureOnceVectorWriter, openVectorWriter, type VectorWriter } from '@tributary/vector-store';
import { WORKER_REDIS } from '../worker-redis';
import { ItemEmbedder } from './item-embedder';
import { MicroBatcher } from './micro-batcher';
import { KindStage } from '@tributary/kind-stage';
import { WorkerEngine } from './worker-engine';

/** What one model's queue embeds through: its embedder and the batcher that feeds it. */
interface ModelPipeline {
  embedder: ItemEmbedder;
  batcher: MicroBatcher<StreamItem, undefined>;
}

/**
 * `ItemEmbed` on every served embedding queue: loads only the served models, and micro-batches the
 * items of the jobs in hand (EMBED_WORKER_CONCURRENCY per queue, up to 100 items each) across jobs,
 * per model (see {@link ItemEmbedder}). A killed worker's jobs are taken back by BullMQ's
 * stalled-job check and done again (idempotently).
 */
@Injectable()
export class ItemEmbedHandler implements JobHandler<'ItemEmbed'> {
  readonly job = 'ItemEmbed' as const;
  private readonly logger = new Logger('ItemEmbed');
  /** By queue name. */
  private readonly pipelines = new Map<string, ModelPipeline>();
  private engine: EmbeddingEngine | undefined;
  private writer: VectorWriter | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    private readonly prisma: PrismaService,
    private readonly items: ItemEmbeddingRepository,
    private readonly collections: CollectionRepository,
    private readonly vectors: ItemVectorRepository,
    private readonly metrics: Metrics,
    private readonly engines: WorkerEngine,
    private readonly stage: KindStage,
  ) {}

  async open(queues: readonly QueueRef[]): Promise<void> {
    const models = queues.map((queue) => {
      if (!queue.model) throw new Error(`queue ${queue.name} serves no model`);
      return queue.model;
    });
    this.engine = await this.engines.acquire(models);
    const writer = (this.writer = new EnsureOnceVectorWriter(
      openVectorWriter(this.config, {
        sql: this.prisma.sql,
        redis: this.redis,
        versions: this.collections.versions,
        metrics: this.metrics,
      }),
    ));
    queues.forEach((queue, i) => {
      const embedder = new ItemEmbedder(
        models[i]!,
        this.engine!,
        this.items,
        this.collections,
        this.vectors,
        this.redis,
        writer,
        this.metrics,
        this.stage,
        this.config,
      );
      const batcher = new MicroBatcher<StreamItem, undefined>((items) => embedder.embed(items), {
        maxItems: Math.max(this.config.BATCH_MAX_SIZE * 4, 64),
        maxWaitMs: 5,
        // Later batches are embedded while earlier ones are written to PostgreSQL and indexed.
        concurrency: this.config.EMBED_WORKER_BATCHES_IN_FLIGHT,
      });
      this.pipelines.set(queue.name, { embedder, batcher });
    });
    this.logger.log(`models ${models.join(', ')} loaded (vector store: ${this.config.VECTOR_STORE})`);
  }

  /**
   * Embeds the job's items. Bad input fails its item for good at once and the job goes on with the
   * others; any other failure fails the job (BullMQ retries it), and on its last attempt the items
   * not embedded by then fail for good.
   */
  async handle(job: Job<ItemEmbedData>): Promise<void> {
    const pipeline = this.pipelines.get(job.queueName);
    if (!pipeline) throw new Error(`queue ${job.queueName} is not served by this worker`);
    const { embedder, batcher } = pipeline;
    const { items, ...stream } = job.data;
    const outcomes = await Promise.allSettled(items.map((item) => batcher.submit({ ...item, ...stream })));
    const transient: Error[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') continue;
      const error = outcome.reason as Error;
      if (error instanceof UnrecoverableError)
        await embedder.fail({ ...items[i]!, ...stream }, error, job.id);
      else transient.push(error);
    }
    if (transient.length === 0) return;
    // Out of attempts: what is not embedded by now fails for good (and is listed as such).
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'rejected' && !(outcome.reason instanceof UnrecoverableError))
          await embedder
            .fail({ ...items[i]!, ...stream }, outcome.reason as Error, job.id)
            .catch(() => undefined);
      }
    }
    throw transient[0]!;
  }

  /** After the workers finished their jobs in hand: the vector writer, then the engine. */
  async close(): Promise<void> {
    await this.writer?.close();
    if (this.engine) await this.engines.release();
  }
}
