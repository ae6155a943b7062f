import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, selectWorkerQueues, type Config } from '@tributary/config';
import { CollectionRepository, ItemEmbeddingRepository, PrismaService } from '@tributary/db';
import { EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { Metrics, serveMetrics } from '@tributary/observability';
import {
  createNamedWorker,
  embedQueueName,
  UnrecoverableError,
  workerQueueNames,
  type EmbedItemJob,
  type EmbedItemsJob,
  type Job,
  type Worker,
} from '@tributary/queue';
import { type Redis } from '@tributary/redis';
import { openSharedVectorStore, type VectorStore } from '@tributary/vector-store';
import { WORKER_REDIS } from '../worker-redis';
import { ItemEmbedder } from './item-embedder';
import { MicroBatcher } from './micro-batcher';

/** Every queue a worker can serve: the static ones and one embedding queue per configured model. */
export function knownQueues(config: Config): string[] {
  return workerQueueNames(configuredModels(config));
}

function configuredModels(config: Config): string[] {
  return config.MODELS.split(',').filter(Boolean);
}

/**
 * Serves the embedding queues selected by WORKER_QUEUES: loads only those models, holds up to
 * EMBED_WORKER_CONCURRENCY jobs (of up to 100 items each) per queue and micro-batches their items
 * across jobs (see {@link ItemEmbedder}). On
 * shutdown it stops taking jobs and finishes the ones in hand; a killed worker's jobs are taken
 * back by BullMQ's stalled-job check and done again (idempotently).
 */
@Injectable()
export class EmbedWorkerHost implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('EmbedWorkers');
  private readonly workers: Worker[] = [];
  private engine: EmbeddingEngine | undefined;
  private store: VectorStore | undefined;
  private metricsServer: { port: number; close: () => Promise<void> } | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    private readonly prisma: PrismaService,
    private readonly items: ItemEmbeddingRepository,
    private readonly collections: CollectionRepository,
    private readonly metrics: Metrics,
  ) {}

  /** The models whose queues this process serves. */
  servedModels(): string[] {
    const queues = new Set(selectWorkerQueues(this.config, knownQueues(this.config)));
    return configuredModels(this.config).filter((m) => queues.has(embedQueueName(m)));
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.METRICS_PORT !== undefined) {
      this.metricsServer = await serveMetrics(this.metrics, this.config.METRICS_PORT, this.config.HOST);
      this.logger.log(`metrics on http://${this.config.HOST}:${this.metricsServer.port}/metrics`);
    }
    const models = this.servedModels();
    if (models.length === 0) return;
    if (!this.config.REDIS_URL) throw new Error('REDIS_URL is not set');
    // Every item this process holds (jobs of up to 100 items) may be waiting for inference at once.
    this.engine = await EmbeddingEngine.start(
      engineOptionsFromConfig(
        this.config,
        models,
        this.metrics.registry,
        this.config.EMBED_WORKER_CONCURRENCY * 100,
        'throughput',
      ),
    );
    this.store = openSharedVectorStore(this.config, this.prisma.sql);
    for (const model of models) {
      const embedder = new ItemEmbedder(
        model,
        this.engine,
        this.items,
        this.collections,
        this.redis,
        this.store,
        this.metrics,
        this.config,
      );
      const batcher = new MicroBatcher<EmbedItemJob, undefined>((jobs) => embedder.embed(jobs), {
        maxItems: Math.max(this.config.BATCH_MAX_SIZE * 4, 64),
        maxWaitMs: 5,
        // Later batches are embedded while earlier ones are written to PostgreSQL and indexed.
        concurrency: this.config.EMBED_WORKER_BATCHES_IN_FLIGHT,
      });
      const queue = embedQueueName(model);
      const worker = createNamedWorker(
        queue,
        async (job: Job<EmbedItemsJob>) => {
          const { items, ...stream } = job.data;
          const outcomes = await Promise.allSettled(
            items.map((item) => batcher.submit({ ...item, ...stream })),
          );
          // Bad input fails its item for good at once; the job goes on with the others.
          const transient: Error[] = [];
          for (const [i, outcome] of outcomes.entries()) {
            if (outcome.status === 'fulfilled') continue;
            const error = outcome.reason as Error;
            if (error instanceof UnrecoverableError)
              await embedder.fail({ ...items[i]!, ...stream }, error, job.id);
            else transient.push(error);
          }
          if (transient.length === 0) {
            this.metrics.jobsProcessed.inc({ queue, job: job.name, outcome: 'completed' });
            return;
          }
          this.metrics.jobsProcessed.inc({ queue, job: job.name, outcome: 'failed' });
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
        },
        { redisUrl: this.config.REDIS_URL, prefix: this.config.REDIS_PREFIX },
        {
          concurrency: this.config.EMBED_WORKER_CONCURRENCY,
          lockDurationMs: this.config.EMBED_WORKER_LOCK_MS,
        },
      );
      worker.on('error', (err) => this.logger.error(`worker for ${queue}: ${err.message}`));
      this.workers.push(worker);
    }
    this.logger.log(
      `serving embedding queues for ${models.join(', ')} (vector store: ${this.config.VECTOR_STORE})`,
    );
  }

  /** Stop taking jobs, finish those in hand. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.logger.log('embedding workers closed: jobs in hand finished');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.metricsServer?.close();
    await this.store?.close();
    await this.engine?.close();
  }
}
