import path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { EmbeddingEngine } from '@tributary/inference';
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
    const models = this.config.MODELS.split(',').filter(Boolean);
    const started = Date.now();
    this.current = await EmbeddingEngine.start({
      manifestsDir: path.resolve(this.config.MODEL_MANIFESTS_DIR),
      modelsDataDir: path.join(path.resolve(this.config.DATA_DIR), 'models'),
      models,
      sessionsPerModel: this.config.INFERENCE_SESSIONS,
      intraOpThreads: this.config.INFERENCE_INTRA_OP_THREADS,
      executionProviders: this.config.INFERENCE_EXECUTION_PROVIDERS.split(','),
      batching: {
        maxBatchTokens: this.config.BATCH_MAX_TOKENS,
        maxBatchSize: this.config.BATCH_MAX_SIZE,
        maxWaitMs: this.config.BATCH_MAX_WAIT_MS,
        maxQueuedRows: this.config.INFERENCE_QUEUE_MAX_ROWS,
      },
      registry: this.metrics.registry,
    });
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
