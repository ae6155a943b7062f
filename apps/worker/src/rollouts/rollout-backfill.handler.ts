import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  CollectionRepository,
  ItemVectorRepository,
  PrismaService,
  RolloutRepository,
  type BackfillInput,
} from '@tributary/db';
import { CachedEmbedder, EmbeddingCache } from '@tributary/embedding';
import type { EmbeddingEngine } from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import {
  EmbedQueues,
  type Job,
  type JobHandler,
  type QueueRef,
  type RolloutBackfillData,
} from '@tributary/queue';
import { type Redis } from '@tributary/redis';
import { EnsureOnceVectorWriter, openVectorWriter, type VectorWriter } from '@tributary/vector-store';
import { BACKFILL_PAGE_SIZE, BACKFILL_PAGES_IN_FLIGHT, WorkerEngine } from '../embedding/worker-engine';
import { writtenPoints } from '../embedding/written-points';
import { KindStage } from '@tributary/kind-stage';
import { WORKER_REDIS } from '../worker-redis';

/** How long one delivery of the job works before it hands over to the next (re-adding itself). */
const SLICE_MS = 5_000;
/** How long a page waits at most for live items of its models to drain first. */
const YIELD_MAX_MS = 2_000;
const YIELD_POLL_MS = 25;

/** Another delivery of the same rollout's backfill moved the cursor first: this one stops. */
class CursorMoved extends Error {}

type BackfillRollout = NonNullable<Awaited<ReturnType<RolloutRepository['forBackfill']>>>;

/** The pages read ahead of the one being written, in key order, and where the next one starts. */
interface Ahead {
  pages: Promise<EmbeddedPage>[];
  cursor: { streamId: string; itemId: string } | undefined;
  exhausted: boolean;
}

/** A page of stored inputs with the candidate's vectors (or why not), in page order. */
interface EmbeddedPage {
  page: BackfillInput[];
  vectors: (Float32Array | undefined)[];
  errors: (Error | undefined)[];
}

/**
 * `RolloutBackfill`: re-embeds every stored input of a rollout's collection into its candidate
 * version from PostgreSQL, a keyset page at a time (`scan`, then `catchup` for the inputs still
 * without a candidate vector), while the items arriving meanwhile are dual-written by the embedding
 * workers. Each page's vectors, points and cursor move commit in one transaction (with the items
 * held, so a delete either waits and removes the point or comes first and the page skips it), so a
 * worker killed anywhere resumes exactly after the last page written, and a page written twice is
 * one point per item. Live items keep priority: the backfill's inference runs on the engine's
 * background sessions (threads at the lowest CPU priority, so live inference takes the cores first),
 * before each page the backfill waits (a little) while the models' embedding queues have items
 * waiting (its writes and indexing then stay out of their way too), and it runs one job at a time
 * per worker on a queue of its own. A job works for a few seconds, then re-adds itself; when the
 * catch-up finds nothing left the rollout becomes ready.
 */
@Injectable()
export class RolloutBackfillHandler implements JobHandler<'RolloutBackfill'> {
  readonly job = 'RolloutBackfill' as const;
  private readonly logger = new Logger('RolloutBackfill');
  private engine: EmbeddingEngine | undefined;
  private embedder: CachedEmbedder | undefined;
  private writer: VectorWriter | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    private readonly prisma: PrismaService,
    private readonly rollouts: RolloutRepository,
    private readonly vectors: ItemVectorRepository,
    private readonly collections: CollectionRepository,
    private readonly queues: EmbedQueues,
    private readonly engines: WorkerEngine,
    private readonly metrics: Metrics,
    private readonly stage: KindStage,
  ) {}

  async open(queues: readonly QueueRef[]): Promise<void> {
    this.engine = await this.engines.acquire(queues.map((q) => q.model!));
    // No cache: a candidate's vectors of stored inputs are rarely cached (the model is new to the
    // collection), and the lookups' hashing and round trips cost more than the rare hit saves.
    this.embedder = new CachedEmbedder(
      this.engine,
      EmbeddingCache.fromConfig(this.redis, { ...this.config, EMBEDDING_CACHE_TTL_SECONDS: 0 }),
      { metrics: this.metrics },
    );
    this.writer = new EnsureOnceVectorWriter(
      openVectorWriter(this.config, {
        sql: this.prisma.sql,
        redis: this.redis,
        versions: this.collections.versions,
        metrics: this.metrics,
      }),
    );
  }

  async handle(job: Job<RolloutBackfillData>): Promise<{ done: boolean }> {
    const { rolloutId } = job.data;
    const until = Date.now() + SLICE_MS;
    let pages = 0;
    let rollout = await this.rollouts.forBackfill(rolloutId);
    // Pages read in key order and embedded BACKFILL_PAGES_IN_FLIGHT at a time while earlier ones are
    // written, so the engine's batcher has rows enough to pack and never waits for PostgreSQL or
    // the index. Keyset paging: a page starts after the last key of the one before, written or not.
    let ahead: Ahead = { pages: [], cursor: undefined, exhausted: false };
    try {
      while (Date.now() < until) {
        if (!rollout || rollout.state !== 'backfilling' || rollout.tenantId !== job.data.tenantId)
          return { done: true };
        if (!this.engine!.model(rollout.toModel)) {
          throw new Error(`model ${rollout.toModel} is not loaded in this worker`);
        }
        await this.fill(rollout, ahead);
        const current = await ahead.pages.shift()!;
        if (current.page.length === 0) {
          const state = await this.rollouts.finishBackfillPhase(rollout);
          if (state !== 'catchup') {
            if (state) this.logger.log({ rolloutId, state }, `rollout ${rolloutId} backfilled: ${state}`);
            return { done: true };
          }
          rollout = await this.rollouts.forBackfill(rolloutId);
          ahead = { pages: [], cursor: undefined, exhausted: false };
          continue;
        }
        await this.writePage(rollout, current);
        pages += 1;
        // The cursor moved where the page ended (the write checked it was where this delivery
        // left it): no need to read the rollout again for the next page.
        const last = current.page[current.page.length - 1]!;
        rollout = { ...rollout, backfillCursorStream: last.streamId, backfillCursorItem: last.itemId };
      }
    } catch (err) {
      await Promise.allSettled(ahead.pages);
      if (err instanceof CursorMoved) return { done: false };
      if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) {
        const reason = `backfill failed: ${err instanceof Error ? err.message : String(err)}`;
        // Its candidate is retired; the API removes the index (VectorStoreService.dropRetired).
        const { failed } = await this.rollouts.fail(rolloutId, reason);
        if (failed) this.logger.error({ rolloutId, err }, `rollout ${rolloutId} failed: ${reason}`);
      }
      throw err;
    }
    await Promise.allSettled(ahead.pages);
    // Hand over: the next delivery resumes from the cursor.
    const latest = await this.rollouts.forBackfill(rolloutId);
    if (latest?.state === 'backfilling') {
      await this.queues.enqueueBackfill(
        latest.toModel,
        job.data,
        `${latest.backfillDone}-${pages}-${Date.now()}`,
      );
    }
    return { done: false };
  }

  /**
   * Reads pages after the last one read (once live items had their turn) and starts embedding
   * them, until BACKFILL_PAGES_IN_FLIGHT are read or embedding or the phase has no more; an empty page
   * marks the end.
   */
  private async fill(rollout: BackfillRollout, ahead: Ahead): Promise<void> {
    while (!ahead.exhausted && ahead.pages.length < BACKFILL_PAGES_IN_FLIGHT) {
      await this.yieldToLive([rollout.toModel, rollout.fromModel]);
      const from = ahead.cursor ?? {
        streamId: rollout.backfillCursorStream,
        itemId: rollout.backfillCursorItem,
      };
      const page = await this.rollouts.nextBackfillPage(
        { ...rollout, backfillCursorStream: from.streamId, backfillCursorItem: from.itemId },
        BACKFILL_PAGE_SIZE,
      );
      if (page.length === 0) {
        ahead.exhausted = true;
        ahead.pages.push(Promise.resolve({ page, vectors: [], errors: [] }));
        return;
      }
      const last = page[page.length - 1]!;
      ahead.cursor = { streamId: last.streamId, itemId: last.itemId };
      const embedded = this.embedPage(rollout, page);
      // Awaited in turn, or dropped when the slice ends first.
      embedded.catch(() => undefined);
      ahead.pages.push(embedded);
    }
  }

  /** A page embedded by the candidate. */
  private async embedPage(rollout: BackfillRollout, page: BackfillInput[]): Promise<EmbeddedPage> {
    const { vectors, errors } = await this.embedder!.embed({
      model: rollout.toModel,
      inputType: 'passage',
      inputs: page.map((p) => ({ tenantId: rollout.tenantId, text: p.text })),
      deadline: Date.now() + 120_000,
      cacheTtlSeconds: 0,
      // The model's background sessions (lowest CPU priority): live inference never waits for it.
      priority: 'background',
    });
    return { page, vectors, errors };
  }

  /** A page's vectors, points and cursor move, in one transaction (see the class comment). */
  private async writePage(rollout: BackfillRollout, { page, vectors, errors }: EmbeddedPage): Promise<void> {
    const ready = page.flatMap((p, i) => (errors[i] || !vectors[i] ? [] : [{ ...p, vector: vectors[i] }]));
    if (ready.length < page.length) {
      this.logger.warn(
        { rolloutId: rollout.id, skipped: page.length - ready.length },
        'stored inputs the candidate cannot embed are left out of it',
      );
    }
    const version = rollout.toVersion;
    await this.writer!.ensureCollection(version.storeKey, version.dimensions);
    const computed = ready.map(({ streamId, itemId, vector }) => ({ streamId, itemId, vector }));
    const pointsOf = writtenPoints(computed);
    const last = page[page.length - 1]!;
    const written = await this.vectors.write(
      rollout.tenantId,
      version.id,
      computed,
      (written, versions) =>
        this.writer!.upsert(version.storeKey, pointsOf(written).points, { versions, background: true }),
      // Counted as written: an item deleted since the page was read, or one the candidate cannot
      // embed, is not in the candidate (the total becomes what was written when the backfill ends).
      async (tx, written) => {
        const moved = await this.rollouts.advanceBackfill(tx, rollout, last, written.length);
        if (!moved)
          throw new CursorMoved(
            `rollout ${rollout.id}: the cursor moved (another delivery, or no longer backfilling)`,
          );
      },
    );
    await this.stage.afterChange(
      {
        tenantId: rollout.tenantId,
        version: { id: version.id, storeKey: version.storeKey, dimensions: version.dimensions },
        writer: this.writer!,
        background: true,
      },
      written,
    );
    this.metrics.backfillItems.inc({ model: rollout.toModel }, written.length);
  }

  /**
   * Waits, up to a bound, while live items of these models are waiting for a worker or being
   * embedded: the backfill takes the gaps between live jobs, so live freshness keeps its figure.
   */
  private async yieldToLive(models: string[]): Promise<void> {
    const until = Date.now() + YIELD_MAX_MS;
    while (Date.now() < until) {
      const waiting = await Promise.all(
        models.filter((m) => this.config.MODELS.includes(m)).map((m) => this.queues.busy(m)),
      );
      if (waiting.every((n) => n === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, YIELD_POLL_MS));
    }
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.engine) await this.engines.release();
  }
}
