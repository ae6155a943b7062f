import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { CONFIG, redisUrlOf, selectWorkerQueues, type Config } from '@tributary/config';
import { Metrics, serveMetrics } from '@tributary/observability';
import {
  createWorker,
  JOB_HANDLERS,
  jobNameOf,
  queueFamilies,
  queueFamilyNames,
  queuesFor,
  UnrecoverableError,
  type Job,
  type JobHandler,
  type JobName,
  type QueueFamily,
  type QueueRef,
  type Worker,
} from '@tributary/queue';
import { type Redis } from '@tributary/redis';
import { WORKER_REDIS } from './worker-redis';

/** Thrown at start-up when a served queue carries a job nobody handles. */
export class MissingJobHandlerError extends Error {
  constructor(queue: string, job: string) {
    super(`queue ${queue} carries job ${job} but this worker has no handler for it`);
    this.name = 'MissingJobHandlerError';
  }
}

/**
 * Serves the queues WORKER_QUEUES selects, maintenance and embedding alike: one BullMQ worker per
 * queue, sized by the queue's family (`queueFamilies`), each job dispatched to its handler in
 * JOB_HANDLERS (legacy job names to the job they became). Handlers are opened for the queues that
 * carry their job before those queues take work, and closed after every worker has finished its
 * jobs in hand, before the connections close. Also serves the worker's /metrics (METRICS_PORT).
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  private readonly logger = new Logger('WorkerHost');
  private readonly workers: { queue: QueueRef; worker: Worker }[] = [];
  private readonly handlers = new Map<JobName, JobHandler>();
  private readonly opened: JobHandler[] = [];
  private metricsServer: { port: number; close: () => Promise<void> } | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(JOB_HANDLERS) handlers: JobHandler[],
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    private readonly metrics: Metrics,
  ) {
    for (const handler of handlers) this.handlers.set(handler.job, handler);
  }

  /** The queues this process serves; throws when one carries a job without a handler. */
  servedQueues(): QueueRef[] {
    const known = queuesFor(this.config.MODELS);
    const queues = selectWorkerQueues(
      this.config,
      known.map((q) => q.name),
    ).map((name) => known.find((q) => q.name === name)!);
    for (const queue of queues) {
      for (const job of queueFamilies[queue.family].jobs) {
        if (!this.handlers.has(job)) throw new MissingJobHandlerError(queue.name, job);
      }
    }
    return queues;
  }

  async onApplicationBootstrap(): Promise<void> {
    const served = this.servedQueues();
    const url = redisUrlOf(this.config);
    if (this.config.METRICS_PORT !== undefined) {
      this.metricsServer = await serveMetrics(this.metrics, this.config.METRICS_PORT, this.config.HOST);
      this.logger.log(`metrics on http://${this.config.HOST}:${this.metricsServer.port}/metrics`);
    }
    // A family at a time, so maintenance queues are served while the models load.
    for (const family of queueFamilyNames) {
      const queues = served.filter((q) => q.family === family);
      if (queues.length === 0) continue;
      for (const job of queueFamilies[family].jobs) {
        const handler = this.handlers.get(job)!;
        if (!handler.open) continue;
        // Closed at shutdown even if opening fails halfway.
        this.opened.push(handler);
        await handler.open(queues);
      }
      for (const queue of queues) {
        const worker = createWorker(
          queue.name,
          (job: Job) => this.dispatch(queue, job),
          { redisUrl: url, prefix: this.config.REDIS_PREFIX },
          queueFamilies[family].worker(this.config),
        );
        worker.on('failed', (job, err) => {
          this.logger.warn(
            `job ${job?.name ?? '?'} ${job?.id ?? ''} on ${queue.name} failed: ${err.message}`,
          );
        });
        worker.on('error', (err) => this.logger.error(`worker for ${queue.name}: ${err.message}`));
        this.workers.push({ queue, worker });
      }
      this.logger.log(`serving ${label(family)} queues: ${queues.map((q) => q.name).join(', ')}`);
    }
    this.logger.log(`serving queues: ${served.map((q) => q.name).join(', ')}`);
  }

  private async dispatch(queue: QueueRef, job: Job): Promise<unknown> {
    const name = jobNameOf(job.name);
    const handler = name && this.handlers.get(name);
    if (!name || !handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    try {
      const result = await handler.handle(job as never);
      this.metrics.jobsProcessed.inc({ queue: queue.name, job: name, outcome: 'completed' });
      return result;
    } catch (err) {
      this.metrics.jobsProcessed.inc({ queue: queue.name, job: name, outcome: 'failed' });
      throw err;
    }
  }

  /** Stop taking jobs first, and wait for the ones in hand. */
  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map(({ worker }) => worker.close()));
    for (const family of queueFamilyNames) {
      if (this.workers.some(({ queue }) => queue.family === family))
        this.logger.log(`${label(family)} workers closed: jobs in hand finished`);
    }
  }

  /** Then the metrics endpoint, what the handlers opened (models, stores), and the connection. */
  async onApplicationShutdown(): Promise<void> {
    await this.metricsServer?.close();
    for (const handler of this.opened.reverse()) await handler.close?.();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function label(family: QueueFamily): string {
  return queueFamilies[family].label;
}
