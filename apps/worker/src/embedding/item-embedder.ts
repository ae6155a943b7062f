import { Logger } from '@nestjs/common';
import type { Config } from '@tributary/config';
import { CollectionRepository, ItemEmbeddingRepository, type WrittenItem } from '@tributary/db';
import { InferenceDeadlineError, type EmbeddingEngine } from '@tributary/inference';
import type { Metrics } from '@tributary/observability';
import { itemPayload, type VectorPoint, type VectorWriter } from '@tributary/vector-store';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import { type Redis } from '@tributary/redis';
import { UnrecoverableError, type StreamItem } from '@tributary/queue';
import { ItemFailure } from './item-failure';

interface CollectionRef {
  key: string;
  dimensions: number;
}

/**
 * Embeds a micro-batch of stream items and makes them searchable: cache lookup, one engine call for
 * the misses (the engine's batcher splits by token budget), the vectors written to PostgreSQL with
 * the items marked embedded, then the points upserted through the vector writer (which for the
 * embedded store appends them to the index log), then the items counted embedded. Idempotent: a
 * retried item writes the same row and point again and is not counted twice.
 */
export class ItemEmbedder {
  private readonly logger = new Logger('ItemEmbedder');
  private readonly embedder: CachedEmbedder;
  private readonly refs = new Map<string, CollectionRef>();
  private readonly ensured = new Set<string>();
  private readonly streamCacheTtlSeconds: number;

  constructor(
    private readonly model: string,
    private readonly engine: EmbeddingEngine,
    private readonly items: ItemEmbeddingRepository,
    private readonly collections: CollectionRepository,
    redis: Redis,
    private readonly writer: VectorWriter,
    private readonly metrics: Metrics,
    config: Config,
  ) {
    this.embedder = new CachedEmbedder(engine, EmbeddingCache.fromConfig(redis, config), { metrics });
    this.streamCacheTtlSeconds = config.STREAM_EMBEDDING_CACHE_TTL_SECONDS;
  }

  /** Per job: undefined when done, an Error (UnrecoverableError for bad input) otherwise. */
  async embed(jobs: StreamItem[]): Promise<(Error | undefined)[]> {
    if (!this.engine.model(this.model)) throw new Error(`model ${this.model} is not loaded in this worker`);
    this.metrics.embedBatchSize.observe({ model: this.model }, jobs.length);
    // Each item is looked up (and stored) for its own tenant, as the API does. Bad input (nothing
    // left to embed once normalised, or untokenizable) fails for good at once, without retries; the
    // API refuses blank text, so this catches items accepted before it did.
    const { vectors, errors } = await this.embedder
      .embed({
        model: this.model,
        inputType: 'passage',
        inputs: jobs.map((j) => ({ tenantId: j.tenantId, text: j.text })),
        deadline: Date.now() + 120_000,
        cacheTtlSeconds: this.streamCacheTtlSeconds,
      })
      .catch((err: unknown) => {
        throw err instanceof InferenceDeadlineError ? new Error('inference did not finish in time') : err;
      });
    const outcome: (Error | undefined)[] = errors.map((e) => e && new ItemFailure(e.reason, e.message));

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
    // A stream's jobs all name the same tenant and collection.
    const streamOf = new Map(jobs.map((j) => [j.streamId, j]));

    // Group the written items by collection (and the tenant their jobs name) and index them.
    const byCollection = new Map<string, { tenantId: string; collectionId: string; items: WrittenItem[] }>();
    for (const item of written) {
      const { tenantId, collectionId } = streamOf.get(item.streamId)!;
      const groupKey = `${tenantId}\u0000${collectionId}`;
      let group = byCollection.get(groupKey);
      if (!group) byCollection.set(groupKey, (group = { tenantId, collectionId, items: [] }));
      group.items.push(item);
    }
    for (const { tenantId, collectionId, items: group } of byCollection.values()) {
      const collection = await this.collection(tenantId, collectionId);
      const points = group.map((item) => ({
        id: item.itemId,
        vector: vectorOf.get(`${item.streamId}\u0000${item.itemId}`)!,
        payload: itemPayload(item),
      }));
      const acceptedAt = group.map((item) => acceptedOf.get(`${item.streamId}\u0000${item.itemId}`)!);
      await this.index(collection, points, acceptedAt);
      // Counted once indexed: a stream's `embedded` never counts an item its collection has no write for.
      await this.items.countEmbedded(
        group.map((item) => ({ tenantId, streamId: item.streamId, itemId: item.itemId })),
      );
    }
    this.metrics.itemsEmbedded.inc({ model: this.model }, written.length);
    return outcome;
  }

  private async index(collection: CollectionRef, points: VectorPoint[], acceptedAt: number[]): Promise<void> {
    if (!this.ensured.has(collection.key)) {
      await this.writer.ensureCollection(collection.key, collection.dimensions);
      this.ensured.add(collection.key);
    }
    await this.writer.upsert(collection.key, points, { acceptedAt });
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
  async fail(job: StreamItem, error: Error, jobId: string | undefined): Promise<void> {
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
