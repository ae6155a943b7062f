import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { Metrics } from '@tributary/observability';
import { createNamedQueue, embedQueueName, type Queue } from '@tributary/queue';

/** Producers for the per-model embedding queues, created on first use. */
@Injectable()
export class EmbedQueues implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EmbedQueues');
  private readonly queues = new Map<string, Queue>();

  constructor(@Inject(CONFIG) private readonly config: Config) {}

  /** Opens every configured model's queue before traffic arrives (a fail-fast connection must be up first). */
  async onModuleInit(): Promise<void> {
    const models = this.config.MODELS.split(',').filter(Boolean);
    await Promise.all(
      models.map((m) =>
        this.for(m)
          .waitUntilReady()
          .catch((err: Error) => this.logger.warn(`queue for ${m} not ready yet: ${err.message}`)),
      ),
    );
  }

  for(model: string): Queue {
    let queue = this.queues.get(model);
    if (!queue) {
      if (!this.config.REDIS_URL) throw new Error('REDIS_URL is not set');
      const name = embedQueueName(model);
      queue = createNamedQueue(
        name,
        { redisUrl: this.config.REDIS_URL, prefix: this.config.REDIS_PREFIX },
        `api:${name}`,
      );
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** Sets the queue depth gauge of every model queue (at scrape time; a failure leaves the last value). */
  async recordDepth(metrics: Metrics): Promise<void> {
    await Promise.all(
      [...this.queues.entries()].map(async ([model, queue]) => {
        try {
          const counts = await queue.getJobCounts('waiting', 'delayed', 'prioritized', 'active');
          metrics.queueDepth.set(
            { queue: embedQueueName(model) },
            Object.values(counts).reduce((a, b) => a + b, 0),
          );
        } catch {
          // Redis away: readiness reports it; the gauge keeps its last value.
        }
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
