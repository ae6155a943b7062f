import { createHash } from 'node:crypto';
import type { Redis } from '@tributary/redis';
import { decodeVector, encodeVector, type VectorFormat } from './vector-codec';

export interface EmbeddingCacheOptions {
  /** `REDIS_PREFIX`. */
  prefix: string;
  /** Entry lifetime in seconds; 0 turns the cache off. */
  ttlSeconds: number;
  format: VectorFormat;
  /**
   * `tenant`: each tenant has its own entries, so a hit (or its latency) tells a tenant nothing
   * about what another tenant embedded. `global`: every tenant shares the entries (more hits, less
   * inference), which reveals to any tenant that someone recently embedded a given text.
   */
  scope: EmbeddingCacheScope;
}

export type EmbeddingCacheScope = 'tenant' | 'global';

/** One cache input: the text and the tenant it is looked up for. */
export interface CacheInput {
  tenantId: string;
  text: string;
}

/**
 * Embeddings in Redis, keyed by model version, the tenant (unless the scope is `global`) and the
 * sha256 of the NFKC-normalised input (the model tokenizes that form, so equal keys mean equal
 * vectors). Shared by the API and the workers, which build every key here, so all of them agree on
 * the scope. Throws on Redis errors; `CachedEmbedder` turns them into misses.
 */
export class EmbeddingCache {
  constructor(
    private readonly redis: Redis,
    private readonly options: EmbeddingCacheOptions,
  ) {}

  /** No cache: every read misses and nothing is written (a lifetime of 0 never reaches Redis). */
  static off(): EmbeddingCache {
    return new EmbeddingCache(undefined as unknown as Redis, {
      prefix: '',
      ttlSeconds: 0,
      format: 'float32',
      scope: 'tenant',
    });
  }

  /** The cache as the configuration describes it (every process builds it this way). */
  static fromConfig(
    redis: Redis,
    config: {
      REDIS_PREFIX: string;
      EMBEDDING_CACHE_TTL_SECONDS: number;
      EMBEDDING_CACHE_FORMAT: VectorFormat;
      EMBEDDING_CACHE_SCOPE: EmbeddingCacheScope;
    },
  ): EmbeddingCache {
    return new EmbeddingCache(redis, {
      prefix: config.REDIS_PREFIX,
      ttlSeconds: config.EMBEDDING_CACHE_TTL_SECONDS,
      format: config.EMBEDDING_CACHE_FORMAT,
      scope: config.EMBEDDING_CACHE_SCOPE,
    });
  }

  get enabled(): boolean {
    return this.options.ttlSeconds > 0;
  }

  key(model: string, inputType: string, { tenantId, text }: CacheInput): string {
    const digest = createHash('sha256')
      .update(`${inputType}\n${text.normalize('NFKC')}`, 'utf8')
      .digest('hex');
    const scope = this.options.scope === 'global' ? 'g' : `t:${tenantId}`;
    return `${this.options.prefix}:emb:${model}:${this.options.format}:${scope}:${digest}`;
  }

  /** Cached vectors, position for position (undefined where missing). */
  async getMany(
    model: string,
    inputType: string,
    inputs: readonly CacheInput[],
    dimensions: number,
  ): Promise<(Float32Array | undefined)[]> {
    if (!this.enabled || inputs.length === 0) return inputs.map(() => undefined);
    const raw = await this.redis.mgetBuffer(...inputs.map((input) => this.key(model, inputType, input)));
    return raw.map((bytes) => (bytes ? decodeVector(bytes, this.options.format, dimensions) : undefined));
  }

  /** Stores vectors for `ttlSeconds` (default: the cache's lifetime; 0 stores nothing). */
  async setMany(
    model: string,
    inputType: string,
    entries: readonly (CacheInput & { vector: Float32Array })[],
    ttlSeconds = this.options.ttlSeconds,
  ): Promise<void> {
    if (!this.enabled || ttlSeconds <= 0 || entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const entry of entries) {
      pipeline.set(
        this.key(model, inputType, entry),
        encodeVector(entry.vector, this.options.format),
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
