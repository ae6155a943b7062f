import type { Config } from '@tributary/config';
import { redisKeys, type Redis } from '@tributary/redis';
import { IndexLogWriter } from './index-log/index-log.writer';
import type { SqlClient } from './pgvector/pg-vector-store';
import { openSharedVectorStore } from './shared-store';
import type {
  CollectionVersions,
  IndexMetrics,
  VectorPoint,
  VectorStore,
  VectorWriter,
  WriteContext,
} from './vector-store';

/**
 * A shared store's writes, timed: upserts are searchable when they resolve, so the upsert duration
 * and each point's freshness are observed here (the index log's consumer observes the embedded ones).
 */
export class MeasuredVectorWriter implements VectorWriter {
  readonly kind: VectorWriter['kind'];

  constructor(
    private readonly store: VectorStore,
    private readonly metrics: IndexMetrics,
  ) {
    this.kind = store.kind;
  }

  ensureCollection(key: string, dimensions: number): Promise<void> {
    return this.store.ensureCollection(key, dimensions);
  }

  async upsert(key: string, points: VectorPoint[], context: WriteContext = {}): Promise<void> {
    const started = process.hrtime.bigint();
    await this.store.upsert(key, points);
    this.metrics.indexUpsertDuration.observe(
      { store: this.kind },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    const now = Date.now();
    for (const at of context.acceptedAt ?? [])
      this.metrics.freshness.observe({ store: this.kind }, (now - at) / 1000);
  }

  delete(key: string, ids: string[]): Promise<number> {
    return this.store.delete(key, ids);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * A writer that creates each collection once per process: `ensureCollection` of a key already
 * ensured (or being ensured) resolves without a call to the store; one that failed is tried again
 * next time. For workers, whose every job would otherwise ask again; store keys are never reused
 * for other dimensions there (a retired version's key stays retired).
 */
export class EnsureOnceVectorWriter implements VectorWriter {
  readonly kind: VectorWriter['kind'];
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(private readonly writer: VectorWriter) {
    this.kind = writer.kind;
  }

  ensureCollection(key: string, dimensions: number): Promise<void> {
    let ensured = this.ensured.get(key);
    if (!ensured) {
      ensured = this.writer.ensureCollection(key, dimensions);
      this.ensured.set(key, ensured);
      ensured.catch(() => this.ensured.delete(key));
    }
    return ensured;
  }

  upsert(key: string, points: VectorPoint[], context?: WriteContext): Promise<void> {
    return this.writer.upsert(key, points, context);
  }

  delete(key: string, ids: string[], context?: WriteContext): Promise<unknown> {
    return this.writer.delete(key, ids, context);
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** What a process other than the embedded store's owner writes through. */
export interface VectorWriterDeps {
  /** PostgreSQL, for VECTOR_STORE=pgvector. */
  sql: SqlClient;
  /** Where the index log lives, for VECTOR_STORE=embedded (the caller keeps the connection). */
  redis: Redis;
  /** Collection versions for the index log. */
  versions: CollectionVersions;
  metrics: IndexMetrics;
}

/**
 * Where a process writes points: the shared store (pgvector, qdrant), or for `embedded` the index
 * log, which the API process applies (the API's own deletes go through it too, so that they stay in
 * version order with the workers' upserts).
 */
export function openVectorWriter(
  config: Pick<
    Config,
    'VECTOR_STORE' | 'QDRANT_URL' | 'QDRANT_API_KEY' | 'REDIS_PREFIX' | 'INDEX_LOG_RETENTION_MS'
  >,
  deps: VectorWriterDeps,
): VectorWriter {
  const shared = openSharedVectorStore(config, deps.sql);
  if (shared) return new MeasuredVectorWriter(shared, deps.metrics);
  return new IndexLogWriter({
    redis: deps.redis,
    logKey: redisKeys(config.REDIS_PREFIX).indexLog,
    retentionMs: config.INDEX_LOG_RETENTION_MS,
    versions: deps.versions,
  });
}
