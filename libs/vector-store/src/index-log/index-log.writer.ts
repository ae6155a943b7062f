import type { Redis } from '@tributary/redis';
import { assertCollectionKey, assertDimensions, assertId, assertVector } from '../validation';
import type { CollectionVersions, VectorPoint, VectorWriter, WriteContext } from '../vector-store';
import { appendIndexOp } from './index-log';

export interface IndexLogWriterOptions {
  redis: Redis;
  /** The log's Redis key (`redisKeys(prefix).indexLog`). */
  logKey: string;
  /** Entries older than this are trimmed as new ones are appended (INDEX_LOG_RETENTION_MS). */
  retentionMs: number;
  /** Where each write takes its collection's next version. */
  versions: CollectionVersions;
}

/**
 * The embedded store's writes as other processes make them: each write takes the collection's next
 * version and is appended to the index log while the version is held, so the log's order is the
 * versions' order whatever the number of writers; the API process applies the log to its embedded
 * store ({@link IndexLogConsumer}). A write resolves once appended (durable, not yet searchable).
 */
export class IndexLogWriter implements VectorWriter {
  readonly kind = 'embedded' as const;
  /** The dimensions `ensureCollection` was told, which upserts carry for the consumer to create the collection. */
  private readonly dimensions = new Map<string, number>();

  constructor(private readonly options: IndexLogWriterOptions) {}

  ensureCollection(key: string, dimensions: number): Promise<void> {
    assertCollectionKey(key);
    assertDimensions(dimensions);
    this.dimensions.set(key, dimensions);
    return Promise.resolve();
  }

  async upsert(key: string, points: VectorPoint[], context: WriteContext = {}): Promise<void> {
    assertCollectionKey(key);
    if (points.length === 0) return;
    const dimensions = this.dimensions.get(key) ?? points[0]!.vector.length;
    for (const p of points) {
      assertId(p.id);
      assertVector(p.vector, dimensions, `point ${p.id}`);
    }
    const now = Date.now();
    const acceptedAt = points.map((_, i) => context.acceptedAt?.[i] ?? now);
    await this.append(key, context, (version) => ({
      op: 'upsert' as const,
      key,
      version,
      dimensions,
      points,
      acceptedAt,
      ...(context.background ? { background: true as const } : {}),
    }));
  }

  /** Appends the delete (how many existed is known only once applied). */
  async delete(key: string, ids: string[], context: WriteContext = {}): Promise<void> {
    assertCollectionKey(key);
    if (ids.length === 0) return;
    ids.forEach(assertId);
    await this.append(key, context, (version) => ({
      op: 'delete' as const,
      key,
      version,
      ids,
      ...(context.background ? { background: true as const } : {}),
    }));
  }

  /** The Redis connection belongs to the caller. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  private async append(
    key: string,
    context: WriteContext,
    op: (version: string) => Parameters<typeof appendIndexOp>[2],
  ): Promise<void> {
    const { redis, logKey, retentionMs, versions } = this.options;
    await (context.versions ?? versions).next(key, (version) =>
      appendIndexOp(redis, logKey, op(version), retentionMs),
    );
  }
}
