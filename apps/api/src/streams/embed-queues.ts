import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { Metrics } from '@tributary/observability';
import { EmbedQueueProducers, embedQueueName, type Queue } from '@tributary/queue';

/** Producers for the per-model embedding queues, created on first use. */
@Injectable()
export class EmbedQueues implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('EmbedQueues');
  private readonly producers: EmbedQueueProducers;

  constructor(@Inject(CONFIG) private readonly config: Config) {
    this.producers = new EmbedQueueProducers(config, 'api');
  }

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
    return this.producers.for(model);
  }

  /** Sets the queue depth gauge of every model queue (at scrape time; a failure leaves the last value). */
  async recordDepth(metrics: Metrics): Promise<void> {
    await Promise.all(
      this.producers.opened().map(async ([model]) => {
        try {
          metrics.queueDepth.set({ queue: embedQueueName(model) }, await this.producers.depth(model));
        } catch {
          // Redis away: readiness reports it; the gauge keeps its last value.
        }
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producers.close();
  }
}
