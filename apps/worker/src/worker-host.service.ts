import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, selectWorkerQueues, type Config } from '@tributary/config';
import { Metrics } from '@tributary/observability';
import {
  createWorker,
  JOB_HANDLERS,
  queueJobs,
  queueNames,
  UnrecoverableError,
  type Job,
  type JobHandler,
  type JobName,
  type QueueName,
  type Worker,
} from '@tributary/queue';
import { type Redis } from '@tributary/redis';
import { knownQueues } from './embedding/embed-worker.host';
import { WORKER_REDIS } from './worker-redis';

/** Thrown at start-up when a served queue carries a job nobody handles. */
export class MissingJobHandlerError extends Error {
  constructor(queue: string, job: string) {
    super(`queue ${queue} carries job ${job} but this worker has no handler for it`);
    this.name = 'MissingJobHandlerError';
  }
}

/**
 * Runs one BullMQ Worker per queue selected by WORKER_QUEUES and dispatches each job to its handler.
 * On shutdown the workers stop taking jobs and finish the ones in hand before connections close.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerHost');
  private readonly workers: Worker[] = [];
  private readonly handlers = new Map<JobName, JobHandler>();

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(JOB_HANDLERS) handlers: JobHandler[],
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    private readonly metrics: Metrics,
  ) {
    for (const handler of handlers) this.handlers.set(handler.job, handler);
  }

  /** The queues this process serves; throws when one carries a job without a handler. */
  servedQueues(): QueueName[] {
    // Embedding queues are served by EmbedWorkerHost; the names are checked against both.
    const queues = selectWorkerQueues(this.config, knownQueues(this.config)).filter((q): q is QueueName =>
      (queueNames as string[]).includes(q),
    );
    for (const queue of queues) {
      for (const job of queueJobs[queue]) {
        if (!this.handlers.has(job)) throw new MissingJobHandlerError(queue, job);
      }
    }
    return queues;
  }

  onApplicationBootstrap(): void {
    const url = this.config.REDIS_URL;
    if (!url)
      throw new Error('REDIS_URL is not set. Start the platform with `npm run up`, or set REDIS_URL.');
    for (const queue of this.servedQueues()) {
      const worker = createWorker(
        queue,
        (job: Job) => this.dispatch(queue, job),
        { redisUrl: url, prefix: this.config.REDIS_PREFIX },
        this.config.WORKER_CONCURRENCY,
      );
      worker.on('failed', (job, err) => {
        this.logger.warn(`job ${job?.name ?? '?'} ${job?.id ?? ''} on ${queue} failed: ${err.message}`);
      });
      worker.on('error', (err) => this.logger.error(`worker for ${queue}: ${err.message}`));
      this.workers.push(worker);
    }
    this.logger.log(`serving queues: ${this.workers.map((w) => w.name).join(', ')}`);
  }

  private async dispatch(queue: QueueName, job: Job): Promise<unknown> {
    const handler = this.handlers.get(job.name as JobName);
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    try {
      const result = await handler.handle(job as never);
      this.metrics.jobsProcessed.inc({ queue, job: job.name, outcome: 'completed' });
      return result;
    } catch (err) {
      this.metrics.jobsProcessed.inc({ queue, job: job.name, outcome: 'failed' });
      throw err;
    }
  }

  /** Stop taking jobs first, and wait for the ones in hand. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    this.logger.log('workers closed');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
