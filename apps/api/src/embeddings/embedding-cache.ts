import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { decodeVector, encodeVector } from './vector-codec';

/**
 * Embeddings in Redis, keyed by model version and the sha256 of the NFKC-normalised input (the
 * model tokenizes that form, so equal keys mean equal vectors). Shared by every tenant: the key
 * reveals nothing without the text. A Redis failure degrades to a miss, never to an error.
 */
@Injectable()
export class EmbeddingCache {
  private readonly logger = new Logger('EmbeddingCache');

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  get enabled(): boolean {
    return this.config.EMBEDDING_CACHE_TTL_SECONDS > 0;
  }

  key(model: string, inputType: string, text: string): string {
    const digest = createHash('sha256')
      .update(`${inputType}\n${text.normalize('NFKC')}`, 'utf8')
      .digest('hex');
    return `${this.config.REDIS_PREFIX}:emb:${model}:${this.config.EMBEDDING_CACHE_FORMAT}:${digest}`;
  }

  /** Cached vectors, position for position (undefined where missing). */
  async getMany(
    model: string,
    inputType: string,
    texts: readonly string[],
    dimensions: number,
  ): Promise<(Float32Array | undefined)[]> {
    if (!this.enabled || texts.length === 0) return texts.map(() => undefined);
    let raw: (Buffer | null)[];
    try {
      raw = await this.redis.client.mgetBuffer(...texts.map((t) => this.key(model, inputType, t)));
    } catch (err) {
      this.logger.warn(`cache read failed, computing instead: ${(err as Error).message}`);
      raw = texts.map(() => null);
    }
    const vectors = raw.map((bytes) =>
      bytes ? decodeVector(bytes, this.config.EMBEDDING_CACHE_FORMAT, dimensions) : undefined,
    );
    const hits = vectors.filter(Boolean).length;
    this.metrics.cacheHits.inc({ model }, hits);
    this.metrics.cacheMisses.inc({ model }, vectors.length - hits);
    return vectors;
  }

  async setMany(
    model: string,
    inputType: string,
    entries: readonly { text: string; vector: Float32Array }[],
  ): Promise<void> {
    if (!this.enabled || entries.length === 0) return;
    const pipeline = this.redis.client.pipeline();
    for (const { text, vector } of entries) {
      pipeline.set(
        this.key(model, inputType, text),
        encodeVector(vector, this.config.EMBEDDING_CACHE_FORMAT),
        'EX',
        this.config.EMBEDDING_CACHE_TTL_SECONDS,
      );
    }
    try {
      await pipeline.exec();
    } catch (err) {
      this.logger.warn(`cache write failed: ${(err as Error).message}`);
    }
  }
}
