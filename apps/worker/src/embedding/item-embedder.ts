import { Logger } from '@nestjs/common';
import type { Config } from '@tributary/config';
import {
  CollectionRepository,
  ItemEmbeddingRepository,
  ItemVectorRepository,
  type WrittenItem,
} from '@tributary/db';
import { InferenceDeadlineError, type EmbeddingEngine } from '@tributary/inference';
import type { Metrics } from '@tributary/observability';
import type { VectorWriter } from '@tributary/vector-store';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import { type Redis } from '@tributary/redis';
import { UnrecoverableError, type StreamItem } from '@tributary/queue';
import { KindStage, type StageTarget } from '@tributary/kind-stage';
import { ItemFailure } from './item-failure';
import { writtenPoints, type ComputedVector } from './written-points';

interface VersionRef {
  id: string;
  key: string;
  dimensions: number;
}

/** An embedded job item as the vector computed for it. */
const computedVector = ({ job, vector }: { job: StreamItem; vector: Float32Array }): ComputedVector => ({
  streamId: job.streamId,
  itemId: job.itemId,
  vector,
  acceptedAt: job.acceptedAt,
});

/** How long a worker trusts what it read of a collection's versions. */
const VERSION_CACHE_MS = 5_000;

/**
 * Embeds a micro-batch of stream items and makes them searchable: cache lookup, one engine call for
 * the misses (the engine's batcher splits by token budget), the vectors written to PostgreSQL with
 * the items marked embedded, then the points upserted through the vector writer (which for the
 * embedded store appends them to the index log) into the collection's version of this model, then
 * the items counted embedded. Dual-write items (a job naming a version) go to that version only,
 * uncounted. Idempotent: a retried item writes the same row and point again and is not counted twice.
 * It asks the writer to ensure each version's collection before every upsert: the worker's writer
 * (`EnsureOnceVectorWriter`) asks the store once per key.
 */
export class ItemEmbedder {
  private readonly logger = new Logger('ItemEmbedder');
  private readonly embedder: CachedEmbedder;
  private readonly refs = new Map<string, { ref: VersionRef | undefined; expires: number }>();
  private readonly streamCacheTtlSeconds: number;

  constructor(
    private readonly model: string,
    private readonly engine: EmbeddingEngine,
    private readonly items: ItemEmbeddingRepository,
    private readonly collections: CollectionRepository,
    private readonly vectors: ItemVectorRepository,
    redis: Redis,
    private readonly writer: VectorWriter,
    private readonly metrics: Metrics,
    private readonly stage: KindStage,
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
    const own = ready.filter(({ job }) => job.versionId === undefined);
    await this.writeOwn(own);
    await this.writeDual(ready.filter(({ job }) => job.versionId !== undefined));
    this.metrics.itemsEmbedded.inc({ model: this.model }, ready.length);
    return outcome;
  }

  /**
   * The items' own embedding: vectors written to their rows, points to the collection's version of
   * this model, then the items counted.
   */
  private async writeOwn(ready: { job: StreamItem; vector: Float32Array }[]): Promise<void> {
    if (ready.length === 0) return;
    const written = await this.items.writeEmbedded(
      ready.map(({ job, vector }) => ({
        tenantId: job.tenantId,
        streamId: job.streamId,
        itemId: job.itemId,
        vector,
      })),
      this.model,
    );
    const pointsOf = writtenPoints(ready.map(computedVector));
    // A stream's jobs all name the same tenant and collection.
    const streamOf = new Map(ready.map(({ job }) => [job.streamId, job]));

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
      const version = await this.versionOfModel(tenantId, collectionId);
      if (version) {
        const { points, acceptedAt } = pointsOf(group);
        await this.writer.ensureCollection(version.key, version.dimensions);
        await this.writer.upsert(version.key, points, { acceptedAt });
        await this.stage.afterChange(this.stageTarget(tenantId, version), group);
      } else {
        // The collection no longer has a live version of this model (an item queued before a
        // promotion whose previous version has been retired since): its vector stays on its row.
        this.logger.warn(
          { tenantId, collectionId, model: this.model, items: group.length },
          'no live version of this model in the collection: items written, not indexed',
        );
      }
      // Counted once indexed: a stream's `embedded` never counts an item its collection has no write for.
      await this.items.countEmbedded(
        group.map((item) => ({ tenantId, streamId: item.streamId, itemId: item.itemId })),
      );
    }
  }

  /**
   * Dual-writes: each item into the version its job names (not counted), inside the transaction
   * that holds the item, so that a delete meanwhile removes the point or finds nothing to write.
   */
  private async writeDual(ready: { job: StreamItem; vector: Float32Array }[]): Promise<void> {
    const byVersion = new Map<string, { tenantId: string; versionId: string; entries: typeof ready }>();
    for (const entry of ready) {
      const key = `${entry.job.tenantId}\u0000${entry.job.versionId!}`;
      let group = byVersion.get(key);
      if (!group)
        byVersion.set(
          key,
          (group = { tenantId: entry.job.tenantId, versionId: entry.job.versionId!, entries: [] }),
        );
      group.entries.push(entry);
    }
    for (const { tenantId, versionId, entries } of byVersion.values()) {
      const version = await this.versionById(tenantId, versionId);
      // Retired meanwhile (a rollback): nothing to write.
      if (!version) continue;
      const computed = entries.map(computedVector);
      const pointsOf = writtenPoints(computed);
      await this.writer.ensureCollection(version.key, version.dimensions);
      const written = await this.vectors.write(tenantId, versionId, computed, (written, versions) => {
        const { points, acceptedAt } = pointsOf(written);
        return this.writer.upsert(version.key, points, { versions, acceptedAt });
      });
      await this.stage.afterChange(this.stageTarget(tenantId, version), written);
    }
  }

  private stageTarget(tenantId: string, version: VersionRef): StageTarget {
    return {
      tenantId,
      version: { id: version.id, storeKey: version.key, dimensions: version.dimensions },
      writer: this.writer,
    };
  }

  /**
   * The job's collection's live version of this worker's model, if the collection is one of the
   * job's tenant (a job naming another's finds none). Remembered for a few seconds: a rollout
   * adds or retires versions rarely.
   */
  private async versionOfModel(tenantId: string, collectionId: string): Promise<VersionRef | undefined> {
    return this.remembered(`${tenantId}\u0000c\u0000${collectionId}`, async () => {
      const exists = await this.collections.liveVersions(tenantId, collectionId);
      if (exists.length === 0)
        throw new ItemFailure('collection_missing', `collection ${collectionId} no longer exists`);
      const row = exists.find((v) => v.model === this.model);
      return row && { id: row.id, key: row.storeKey, dimensions: row.dimensions };
    });
  }

  /** A live version by id, of the job's tenant; undefined once retired. */
  private async versionById(tenantId: string, versionId: string): Promise<VersionRef | undefined> {
    return this.remembered(`${tenantId}\u0000v\u0000${versionId}`, async () => {
      const row = await this.collections.versionById(tenantId, versionId);
      return row && { id: row.id, key: row.storeKey, dimensions: row.dimensions };
    });
  }

  private async remembered(
    key: string,
    read: () => Promise<VersionRef | undefined>,
  ): Promise<VersionRef | undefined> {
    const cached = this.refs.get(key);
    if (cached && cached.expires > Date.now()) return cached.ref;
    const ref = await read();
    if (this.refs.size >= 10_000) this.refs.clear();
    this.refs.set(key, { ref, expires: Date.now() + VERSION_CACHE_MS });
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
