import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { WatchRepository, type SelfCheckOutcome, type StoredInput } from '@tributary/db';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import type { EmbeddingEngine } from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import {
  EmbedQueues,
  type CollectionJobData,
  type Job,
  type JobHandler,
  type QueueRef,
} from '@tributary/queue';
import { WorkerEngine } from '../embedding/worker-engine';
import { watchCollectionLabel } from './watch-labels';

/** The lowest cosines a self-check names. */
const WORST = 10;

/** Cosine of two vectors (the stored ones are normalised, a re-embedded one too; computed in full all the same). */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * `EmbeddingSelfCheckQueueAll` (scheduled): one `EmbeddingSelfCheck` per collection, on the
 * self-check queue of the collection's serving model (served where that model is loaded).
 */
@Injectable()
export class EmbeddingSelfCheckQueueAllHandler implements JobHandler<'EmbeddingSelfCheckQueueAll'> {
  readonly job = 'EmbeddingSelfCheckQueueAll' as const;

  constructor(
    private readonly watch: WatchRepository,
    private readonly queues: EmbedQueues,
  ) {}

  async handle(): Promise<{ queued: number }> {
    const collections = await this.watch.collectionsAcrossTenants();
    // One waiting check per collection and model at most: a check not yet run is not added twice.
    const slot = Math.floor(Date.now() / 60_000);
    for (const c of collections) {
      await this.queues.enqueueSelfCheck(
        c.model,
        { tenantId: c.tenantId, collectionId: c.collectionId },
        `self-check.${c.collectionId}.${c.model.replace(/[^a-z0-9-]/gi, '_')}.${slot}`,
      );
    }
    return { queued: collections.length };
  }
}

/**
 * `EmbeddingSelfCheck`: re-embeds a seeded sample of a collection's stored inputs
 * (`SELF_CHECK_SAMPLE`) with its serving version through the path the embedding worker uses (the
 * same engine, tokenizer and `CachedEmbedder`, with the cache off so nothing is served from a
 * stored copy; background priority, so live items go first) and compares each with its stored
 * vector. It fails when any cosine is under `SELF_CHECK_MIN_COSINE` (`SELF_CHECK_MIN_COSINE_QUANTIZED`
 * for quantized versions): a changed tokenizer or normalisation, a different artifact, or a
 * corrupted stored vector. The report (sampled, min and mean cosine, share under the threshold, the
 * worst inputs) is kept in PostgreSQL (`GET /v1/collections/{name}/reports/self-check`).
 */
@Injectable()
export class EmbeddingSelfCheckHandler implements JobHandler<'EmbeddingSelfCheck'> {
  readonly job = 'EmbeddingSelfCheck' as const;
  private readonly logger = new Logger('EmbeddingSelfCheck');
  private engine: EmbeddingEngine | undefined;
  private embedder: CachedEmbedder | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly watch: WatchRepository,
    private readonly engines: WorkerEngine,
    private readonly metrics: Metrics,
  ) {}

  async open(queues: readonly QueueRef[]): Promise<void> {
    this.engine = await this.engines.acquire(queues.map((q) => q.model!));
    // No cache: a hit would hand back the stored vector's own copy and hide what changed.
    this.embedder = new CachedEmbedder(this.engine, EmbeddingCache.off());
  }

  async close(): Promise<void> {
    if (this.engine) await this.engines.release();
    this.engine = undefined;
  }

  async handle(job: Job<CollectionJobData>): Promise<SelfCheckOutcome | { skipped: string }> {
    const c = await this.watch.collection(job.data.tenantId, job.data.collectionId);
    if (!c) return { skipped: 'the collection is gone' };
    const info = this.engine!.model(c.model);
    if (!info) return { skipped: `model ${c.model} is not loaded here (the collection moved to another)` };
    const sample = await this.watch.storedSample(
      c,
      this.config.SELF_CHECK_SAMPLE,
      `self-check:${job.id ?? ''}`,
    );
    const threshold =
      info.quantization === 'int8'
        ? this.config.SELF_CHECK_MIN_COSINE_QUANTIZED
        : this.config.SELF_CHECK_MIN_COSINE;
    const outcome = await this.check(c, sample, threshold);
    await this.watch.recordSelfCheck(outcome);
    const collection = watchCollectionLabel(this.config, c);
    this.metrics.selfChecks.inc({ model: c.model, result: outcome.passed ? 'passed' : 'failed', collection });
    if (outcome.minCosine !== null)
      this.metrics.selfCheckMinCosine.observe({ model: c.model }, outcome.minCosine);
    if (!outcome.passed) {
      this.logger.warn(
        { tenantId: c.tenantId, collectionId: c.collectionId, model: c.model, minCosine: outcome.minCosine },
        `self-check failed: ${Math.round((outcome.belowShare ?? 0) * outcome.sampled)} of ${outcome.sampled} stored inputs re-embed under cosine ${threshold}`,
      );
    }
    return outcome;
  }

  private async check(
    c: { tenantId: string; collectionId: string; model: string },
    sample: StoredInput[],
    threshold: number,
  ): Promise<SelfCheckOutcome> {
    const { vectors, errors } = await this.embedder!.embed({
      model: c.model,
      inputType: 'passage',
      inputs: sample.map((s) => ({ tenantId: c.tenantId, text: s.text })),
      deadline: Date.now() + 600_000,
      cacheTtlSeconds: 0,
      priority: 'background',
    });
    // An input that no longer embeds at all counts as cosine 0: the pipeline cannot reproduce it.
    const scored = sample.map((s, i) => ({
      streamId: s.streamId,
      itemId: s.itemId,
      cosine: errors[i] || !vectors[i] ? 0 : cosine(vectors[i], s.vector),
    }));
    const sorted = [...scored].sort((a, b) => a.cosine - b.cosine || a.itemId.localeCompare(b.itemId));
    const below = scored.filter((s) => s.cosine < threshold).length;
    return {
      tenantId: c.tenantId,
      collectionId: c.collectionId,
      model: c.model,
      sampled: scored.length,
      minCosine: sorted[0]?.cosine ?? null,
      meanCosine: scored.length ? scored.reduce((sum, s) => sum + s.cosine, 0) / scored.length : null,
      threshold,
      belowShare: scored.length ? below / scored.length : null,
      passed: below === 0,
      worst: sorted.slice(0, WORST),
    };
  }
}
