import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { serveMetrics } from '@tributary/observability';
import { EmbedQueues } from '@tributary/queue';
import { MetricsService } from './metrics.service';

/** Where the API's /metrics is served: on PORT (the controller), on API_METRICS_PORT, or nowhere. */
export function metricsPlacement(config: Config): 'api' | 'own-port' | 'off' {
  if (!config.API_METRICS_ENABLED) return 'off';
  return config.API_METRICS_PORT === undefined ? 'api' : 'own-port';
}

/** The API's /metrics on a listener of its own (API_METRICS_PORT), away from the tenants' port. */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Metrics');
  private server: { port: number; close: () => Promise<void> } | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly metrics: MetricsService,
    private readonly queues: EmbedQueues,
  ) {}

  /** The port it listens on, once started. */
  get port(): number | undefined {
    return this.server?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (metricsPlacement(this.config) !== 'own-port') return;
    this.server = await serveMetrics(this.metrics, this.config.API_METRICS_PORT!, this.config.HOST, () =>
      this.queues.recordDepth(this.metrics),
    );
    this.logger.log(`metrics on http://${this.config.HOST}:${this.server.port}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
