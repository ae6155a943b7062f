import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { ValidationError } from '@tributary/contracts';
import { EmbeddingEngine, engineOptionsFromConfig, type ModelInfo } from '@tributary/inference';
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

  /**
   * The version `id` as this process serves it; a 422 naming the served ones otherwise (the one
   * wording of that refusal: streams, embeddings, search and rollouts alike).
   */
  servedModel(id: string, what = `Model ${id}`): ModelInfo {
    const engine = this.engine;
    const model = engine.model(id);
    if (!model) {
      const available = engine.models().map((m) => m.id);
      throw new ValidationError(`${what} is not served here; available: ${available.join(', ')}`, [
        { path: 'model', message: `unknown model ${id}` },
      ]);
    }
    return model;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.current?.close();
    this.current = undefined;
  }
}
