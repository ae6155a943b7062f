import { Logger } from '@nestjs/common';
import type { Config } from '@tributary/config';
import { isBlankText } from '@tributary/contracts';
import { CollectionRepository, ItemEmbeddingRepository, type WrittenItem } from '@tributary/db';
import { InferenceDeadlineError, type EmbeddingEngine } from '@tributary/inference';
import type { Metrics } from '@tributary/observability';
import { appendIndexOp, itemPayload } from '@tributary/vector-store';
import { EmbeddingCacheStore } from '@tributary/embedding';
import { redisKeys, type Redis } from '@tributary/redis';
import { UnrecoverableError, type EmbedItemJob } from '@tributary/queue';
import type { VectorStore } from '@tributary/vector-store';
import { ItemFailure } from './item-failure';

interface CollectionRef {
  key: string;
  dimensions: number;
}

/**
 * Embeds a micro-batch of stream items and makes them searchable: cache lookup, one engine call for
 * the misses (the engine's batcher splits by token budget), the vectors written to PostgreSQL with
 * the items marked embedded, then the points upserted into the vector store (directly, or through
 * the index log for the embedded store), then the stream counters. Idempotent: a retried item
 * writes the same row and point again and is not counted twice.
 */
export class ItemEmbedder {
  private readonly logger = new Logger('ItemEmbedder');
  private readonly cache: EmbeddingCacheStore;
  private readonly refs = new Map<string, CollectionRef>();
  private readonly ensured = new Set<string>();
  private readonly logKey: string;
  private readonly logRetentionMs: number;
  private readonly streamCacheTtlSeconds: number;

  constructor(
    private readonly model: string,
    private readonly engine: EmbeddingEngine,
    private readonly items: ItemEmbeddingRepository,
    private readonly collections: CollectionRepository,
    private readonly redis: Redis,
    /** Undefined for the embedded store: its writes go through the index log. */
    private readonly store: VectorStore | undefined,
    private readonly metrics: Metrics,
    config: Config,
  ) {
    this.cache = EmbeddingCacheStore.fromConfig(redis, config);
    this.logKey = redisKeys(config.REDIS_PREFIX).indexLog;
    this.logRetentionMs = config.INDEX_LOG_RETENTION_MS;
    this.streamCacheTtlSeconds = config.STREAM_EMBEDDING_CACHE_TTL_SECONDS;
  }

  /** Per job: undefined when done, an Error (UnrecoverableError for bad input) otherwise. */
  async embed(jobs: EmbedItemJob[]): Promise<(Error | undefined)[]> {
    const info = this.engine.model(this.model);
    if (!info) throw new Error(`model ${this.model} is not loaded in this worker`);
    this.metrics.embedBatchSize.observe({ model: this.model }, jobs.length);
    const outcome: (Error | undefined)[] = jobs.map(() => undefined);

    const texts = jobs.map((j) => j.text);
    // Each item is looked up (and stored) for its own tenant, as the API does.
    const inputs = jobs.map((j) => ({ tenantId: j.tenantId, text: j.text }));
    // Bad input fails for good at once (no retries): nothing is left to embed once normalised. The
    // API refuses such text; this catches items accepted before it did.
    texts.forEach((text, i) => {
      if (isBlankText(text))
        outcome[i] = new ItemFailure(
          'empty_text',
          'text is empty after normalisation (only spaces or control characters)',
        );
    });
    let vectors: (Float32Array | undefined)[];
    try {
      vectors = await this.cache.getMany(this.model, 'passage', inputs, info.dimensions);
    } catch (err) {
      this.logger.warn(`cache read failed, computing instead: ${(err as Error).message}`);
      vectors = texts.map(() => undefined);
    }
    const missing = vectors.flatMap((v, i) => (v || outcome[i] ? [] : [i]));
    if (missing.length > 0) {
      const rows: number[][] = [];
      const rowOf: number[] = [];
      for (const i of missing) {
        try {
          rows.push(this.engine.tokenize(this.model, [texts[i]!], 'passage').rows[0]!);
          rowOf.push(i);
        } catch (err) {
          outcome[i] = new ItemFailure('untokenizable', `cannot tokenize: ${(err as Error).message}`);
        }
      }
      let computed: Float32Array[];
      try {
        computed = await this.engine.embedRows(this.model, rows, Date.now() + 120_000);
      } catch (err) {
        if (err instanceof InferenceDeadlineError) throw new Error('inference did not finish in time');
        throw err;
      }
      rowOf.forEach((i, k) => (vectors[i] = computed[k]));
      await this.cache
        .setMany(
          this.model,
          'passage',
          rowOf.map((i, k) => ({ ...inputs[i]!, vector: computed[k]! })),
          this.streamCacheTtlSeconds,
        )
        .catch((err: Error) => this.logger.warn(`cache write failed: ${err.message}`));
    }

    const ready = jobs.flatMap((job, i) => (outcome[i] || !vectors[i] ? [] : [{ job, vector: vectors[i] }]));
    const written = await this.items.writeEmbedded(
      ready.map(({ job, vector }) => ({
        tenantId: job.tenantId,
        streamId: job.streamId,
        itemId: job.itemId,
        vector,
      })),
    );
    const vectorOf = new Map(ready.map(({ job, vector }) => [`${job.streamId}\u0000${job.itemId}`, vector]));
    const acceptedOf = new Map(
      ready.map(({ job }) => [`${job.streamId}\u0000${job.itemId}`, job.acceptedAt]),
    );
    const collectionOf = new Map(jobs.map((j) => [j.streamId, j.collectionId]));
    const tenantOf = new Map(jobs.map((j) => [j.streamId, j.tenantId]));

    // Group the written items by collection (and the tenant their jobs name) and index them.
    const byCollection = new Map<string, WrittenItem[]>();
    for (const item of written) {
      const groupKey = `${tenantOf.get(item.streamId)!}\u0000${collectionOf.get(item.streamId)!}`;
      const list = byCollection.get(groupKey) ?? [];
      list.push(item);
      byCollection.set(groupKey, list);
    }
    for (const [groupKey, group] of byCollection) {
      const [tenantId, collectionId] = groupKey.split('\u0000') as [string, string];
      const collection = await this.collection(tenantId, collectionId);
      const points = group.map((item) => ({
        id: item.itemId,
        vector: vectorOf.get(`${item.streamId}\u0000${item.itemId}`)!,
        payload: itemPayload(item),
      }));
      const acceptedAt = group.map((item) => acceptedOf.get(`${item.streamId}\u0000${item.itemId}`)!);
      await this.index(collectionId, collection, points, acceptedAt);
    }
    this.metrics.itemsEmbedded.inc({ model: this.model }, written.length);
    return outcome;
  }

  private async index(
    collectionId: string,
    collection: CollectionRef,
    points: { id: string; vector: Float32Array; payload: ReturnType<typeof itemPayload> }[],
    acceptedAt: number[],
  ): Promise<void> {
    const started = process.hrtime.bigint();
    if (!this.store) {
      // The version bump holds the collection's row lock until the entry is in the log, so the
      // log's order is the versions' order whatever the number of workers.
      await this.collections.withNextCollectionVersion(collectionId, (version) =>
        appendIndexOp(
          this.redis,
          this.logKey,
          {
            op: 'upsert',
            key: collection.key,
            version,
            dimensions: collection.dimensions,
            points,
            acceptedAt,
          },
          this.logRetentionMs,
        ),
      );
      return;
    }
    if (!this.ensured.has(collection.key)) {
      await this.store.ensureCollection(collection.key, collection.dimensions);
      this.ensured.add(collection.key);
    }
    await this.store.upsert(collection.key, points);
    this.metrics.indexUpsertDuration.observe(
      { store: this.store.kind },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    const now = Date.now();
    for (const at of acceptedAt)
      this.metrics.freshness.observe({ store: this.store.kind }, (now - at) / 1000);
  }

  /** The job's collection, if it is one of the job's tenant (a job naming another's finds none). */
  private async collection(tenantId: string, id: string): Promise<CollectionRef> {
    const cacheKey = `${tenantId}\u0000${id}`;
    let ref = this.refs.get(cacheKey);
    if (!ref) {
      const row = await this.collections.storeRef(tenantId, id);
      if (!row) throw new ItemFailure('collection_missing', `collection ${id} no longer exists`);
      ref = { key: row.storeKey, dimensions: row.dimensions };
      this.refs.set(cacheKey, ref);
    }
    return ref;
  }

  /**
   * Records an item that failed for good (bad input, or out of attempts): the item keeps a reason
   * code (what `/failures` shows the tenant); the error itself is logged here, with the ids to find it.
   */
  async fail(job: EmbedItemJob, error: Error, jobId: string | undefined): Promise<void> {
    const reason = error instanceof ItemFailure ? error.reason : 'attempts_exhausted';
    this.logger.warn(
      { tenantId: job.tenantId, streamId: job.streamId, itemId: job.itemId, jobId, reason, err: error },
      `item failed for good: ${reason}`,
    );
    if (await this.items.markFailed(job.tenantId, job.streamId, job.itemId, reason)) {
      this.metrics.itemFailures.inc({
        reason: error instanceof UnrecoverableError ? 'bad_input' : 'attempts_exhausted',
      });
    }
  }
}
