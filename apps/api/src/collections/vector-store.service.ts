import path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, redisUrlOf, type Config } from '@tributary/config';
import { CollectionRepository, PrismaService, RolloutRepository } from '@tributary/db';
import { itemPayload } from '@tributary/vector-store';
import { redisKeys } from '@tributary/redis';
import {
  IndexLogConsumer,
  openSharedVectorStore,
  openVectorWriter,
  ThreadedEmbeddedVectorStore,
  type RebuildSource,
  type VectorStore,
  type VectorWriter,
} from '@tributary/vector-store';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';

/**
 * The API's vector store, chosen by VECTOR_STORE. `embedded`: usearch indexes under
 * DATA_DIR/vectors, owned by this process; workers append their writes to the index log in Redis,
 * which this process applies; anything missing or stale is rebuilt from PostgreSQL at start, and a
 * collection that misses a log entry while running is rebuilt then (see IndexLogConsumer).
 * `pgvector` and `qdrant`: shared stores the workers write to directly. Writes from this process
 * (deletes) go through `writer`: the index log too for `embedded`, so that they stay in version
 * order with the workers' upserts.
 */
@Injectable()
export class VectorStoreService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('VectorStore');
  private current: VectorStore | undefined;
  private currentWriter: VectorWriter | undefined;
  private consumer: IndexLogConsumer | undefined;
  private retiredSweep: NodeJS.Timeout | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly prisma: PrismaService,
    private readonly collections: CollectionRepository,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    private readonly rollouts: RolloutRepository,
  ) {}

  get store(): VectorStore {
    if (!this.current) throw new Error('the vector store is not open');
    return this.current;
  }

  /** Where this process writes points. */
  get writer(): VectorWriter {
    if (!this.currentWriter) throw new Error('the vector store is not open');
    return this.currentWriter;
  }

  /**
   * Why the store no longer serves although nobody closed it (the embedded store's thread died:
   * search and deletes answer 503 until the process restarts); undefined while it serves.
   */
  get failure(): string | undefined {
    return this.current instanceof ThreadedEmbeddedVectorStore ? this.current.failure : undefined;
  }

  /**
   * Whether every write to the collection up to `version` is searchable here: always for shared
   * stores (writes are direct); for `embedded`, once the index log is applied up to it.
   */
  searchableAt(storeKey: string, version: bigint): boolean {
    return !this.consumer || this.consumer.appliedVersion(storeKey) >= version;
  }

  async onModuleInit(): Promise<void> {
    switch (this.config.VECTOR_STORE) {
      case 'embedded': {
        const logKey = redisKeys(this.config.REDIS_PREFIX).indexLog;
        // Where the log ends before reconciling: entries after it that the reconcile already holds
        // are skipped by version; one it missed shows as a version gap or in the start-up check.
        const from = await IndexLogConsumer.tail(this.redis.client, logKey);
        const store = await ThreadedEmbeddedVectorStore.open({
          dir: path.resolve(this.config.VECTOR_DIR ?? path.join(this.config.DATA_DIR, 'vectors')),
          saveEveryMs: this.config.INDEX_SAVE_EVERY_MS,
          source: this.rebuildSource(),
          log: (message: string) => this.logger.log(message),
        });
        this.current = store;
        // The index log's writer, as the workers open theirs.
        this.currentWriter = openVectorWriter(this.config, {
          sql: this.prisma.sql,
          redis: this.redis.client,
          versions: this.collections.versions,
          metrics: this.metrics,
        });
        this.consumer = new IndexLogConsumer({
          redisUrl: redisUrlOf(this.config),
          logKey,
          position: from,
          checkEveryMs: this.config.INDEX_LOG_CHECK_EVERY_MS,
          store,
          metrics: this.metrics,
          logger: new Logger('IndexLog'),
        });
        this.consumer.start();
        break;
      }
      case 'pgvector':
      case 'qdrant':
        this.current = this.currentWriter = openSharedVectorStore(this.config, this.prisma.sql);
        break;
    }
    this.logger.log(`vector store: ${this.config.VECTOR_STORE}`);
    // Indexes of retired versions (rollbacks, failed backfills, retention ended) go: at start and
    // then periodically (a late write of a worker that had not seen the retirement recreates one).
    await this.dropRetired().catch((err: Error) =>
      this.logger.warn(`dropping retired indexes: ${err.message}`),
    );
    this.retiredSweep = setInterval(() => {
      void this.dropRetired().catch((err: Error) =>
        this.logger.warn(`dropping retired indexes: ${err.message}`),
      );
    }, this.config.INDEX_LOG_CHECK_EVERY_MS);
    this.retiredSweep.unref();
  }

  /**
   * Removes the indexes of retired collection versions that this store still holds: those named,
   * or (without `keys`) every one PostgreSQL lists as retired. The one place indexes are dropped.
   */
  async dropRetired(keys?: string[]): Promise<number> {
    const store = this.current;
    if (!store || this.failure) return 0;
    const retired = keys ?? (await this.rollouts.retiredStoreKeys());
    if (retired.length === 0) return 0;
    const held = new Set((await store.list()).map((c) => c.key));
    let dropped = 0;
    for (const key of retired) {
      if (!held.has(key)) continue;
      await store.dropCollection(key);
      dropped += 1;
      this.logger.log(`index ${key} of a retired version removed`);
    }
    return dropped;
  }

  /**
   * Points the alias of a collection at its serving version's index where readers outside
   * Tributary may use it (Qdrant: one atomic alias switch). Our own searches read the pointer row
   * in PostgreSQL, so a failure here is logged, not fatal.
   */
  async pointAlias(alias: string, storeKey: string): Promise<void> {
    if (this.config.VECTOR_STORE !== 'qdrant' || !this.current) return;
    await this.current
      .alias(alias, storeKey)
      .catch((err: Error) => this.logger.warn(`alias ${alias} not moved to ${storeKey}: ${err.message}`));
  }

  /** PostgreSQL as the source of truth for the embedded indexes. */
  private rebuildSource(): RebuildSource {
    const collections = this.collections;
    return {
      async collections() {
        const rows = await collections.versionsAcrossTenants();
        return rows.map((r) => ({ key: r.storeKey, dimensions: r.dimensions, version: r.version }));
      },
      version: (key: string) => collections.versionByStoreKey(key),
      async *points(key: string) {
        for await (const page of collections.vectorsByStoreKey(key)) {
          yield page.map((p) => ({ id: p.itemId, vector: p.vector, payload: itemPayload(p) }));
        }
      },
    };
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.retiredSweep);
    await this.consumer?.stop();
    await this.current?.close();
    if (this.current)
      this.logger.log(
        this.config.VECTOR_STORE === 'embedded'
          ? 'vector store closed: embedded indexes saved'
          : 'vector store closed',
      );
    this.current = this.currentWriter = undefined;
  }
}
