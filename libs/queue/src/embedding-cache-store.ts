import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { decodeVector, encodeVector, type VectorFormat } from './vector-codec';

export interface EmbeddingCacheOptions {
  /** `REDIS_PREFIX`. */
  prefix: string;
  /** Entry lifetime in seconds; 0 turns the cache off. */
  ttlSeconds: number;
  format: VectorFormat;
}

/**
 * Embeddings in Redis, keyed by model version and the sha256 of the NFKC-normalised input (the
 * model tokenizes that form, so equal keys mean equal vectors). Shared by the API and the workers,
 * and by every tenant: a key reveals nothing without the text. Throws on Redis errors; callers
 * decide to degrade to a miss.
 */
export class EmbeddingCacheStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: EmbeddingCacheOptions,
  ) {}

  get enabled(): boolean {
    return this.options.ttlSeconds > 0;
  }

  key(model: string, inputType: string, text: string): string {
    const digest = createHash('sha256')
      .update(`${inputType}\n${text.normalize('NFKC')}`, 'utf8')
      .digest('hex');
    return `${this.options.prefix}:emb:${model}:${this.options.format}:${digest}`;
  }

  /** Cached vectors, position for position (undefined where missing). */
  async getMany(
    model: string,
    inputType: string,
    texts: readonly string[],
    dimensions: number,
  ): Promise<(Float32Array | undefined)[]> {
    if (!this.enabled || texts.length === 0) return texts.map(() => undefined);
    const raw = await this.redis.mgetBuffer(...texts.map((t) => this.key(model, inputType, t)));
    return raw.map((bytes) => (bytes ? decodeVector(bytes, this.options.format, dimensions) : undefined));
  }

  /** Stores vectors for `ttlSeconds` (default: the cache's lifetime; 0 stores nothing). */
  async setMany(
    model: string,
    inputType: string,
    entries: readonly { text: string; vector: Float32Array }[],
    ttlSeconds = this.options.ttlSeconds,
  ): Promise<void> {
    if (!this.enabled || ttlSeconds <= 0 || entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const { text, vector } of entries) {
      pipeline.set(
        this.key(model, inputType, text),
        encodeVector(vector, this.options.format),
        'EX',
        ttlSeconds,
      );
    }
    // A pipeline resolves with each command's error rather than throwing: surface the first.
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0]!;
  }
}
