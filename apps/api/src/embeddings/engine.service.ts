import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { MetricsService } from '../metrics/metrics.service';

/**
 * The API process's embedding engine. It starts (artifacts verified, sessions warmed up) before
 * the server listens, so readiness is only ever reported with the models loaded.
 */
@Injectable()
export class EngineService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Engine');
  private current: EmbeddingEngine | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly metrics: MetricsService,
  ) {}

  async onModuleInit(): Promise<void> {
    const models = this.config.MODELS;
    const started = Date.now();
    this.current = await EmbeddingEngine.start(
      engineOptionsFromConfig(this.config, models, this.metrics.registry),
    );
    this.logger.log(`models ready in ${Date.now() - started} ms: ${models.join(', ')}`);
  }

  get engine(): EmbeddingEngine {
    if (!this.current) throw new Error('the embedding engine is not started');
    return this.current;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.current?.close();
    this.current = undefined;
  }
}
