import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { EmbeddingCacheStore } from '@tributary/embedding';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';

/**
 * The API's view of the shared embedding cache ({@link EmbeddingCacheStore}), for one tenant at a
 * time (the store scopes the entries per `EMBEDDING_CACHE_SCOPE`): hit and miss counters, and a
 * Redis failure degrades to a miss, never to an error.
 */
@Injectable()
export class EmbeddingCache {
  private readonly logger = new Logger('EmbeddingCache');
  private readonly store: EmbeddingCacheStore;

  constructor(
    redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) config: Config,
  ) {
    this.store = EmbeddingCacheStore.fromConfig(redis.client, config);
  }

  get enabled(): boolean {
    return this.store.enabled;
  }

  /** Cached vectors, position for position (undefined where missing). */
  async getMany(
    tenantId: string,
    model: string,
    inputType: string,
    texts: readonly string[],
    dimensions: number,
  ): Promise<(Float32Array | undefined)[]> {
    if (!this.enabled || texts.length === 0) return texts.map(() => undefined);
    let vectors: (Float32Array | undefined)[];
    try {
      vectors = await this.store.getMany(
        model,
        inputType,
        texts.map((text) => ({ tenantId, text })),
        dimensions,
      );
    } catch (err) {
      this.logger.warn(`cache read failed, computing instead: ${(err as Error).message}`);
      vectors = texts.map(() => undefined);
    }
    const hits = vectors.filter(Boolean).length;
    this.metrics.cacheHits.inc({ model }, hits);
    this.metrics.cacheMisses.inc({ model }, vectors.length - hits);
    return vectors;
  }

  async setMany(
    tenantId: string,
    model: string,
    inputType: string,
    entries: readonly { text: string; vector: Float32Array }[],
  ): Promise<void> {
    try {
      await this.store.setMany(
        model,
        inputType,
        entries.map((e) => ({ tenantId, ...e })),
      );
    } catch (err) {
      this.logger.warn(`cache write failed: ${(err as Error).message}`);
    }
  }
}
