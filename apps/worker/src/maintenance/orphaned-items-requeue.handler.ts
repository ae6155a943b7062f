import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  ItemQueueRepository,
  ItemVectorRepository,
  type MissingVersionVector,
  type QueuedItem,
  type StreamWithLag,
} from '@tributary/db';
import { Metrics } from '@tributary/observability';
import { EmbedQueues, dualWriteJobId, type JobHandler } from '@tributary/queue';

const PAGE = 1000;

/**
 * Finds accepted items whose queue job is gone and enqueues them again. Redis acknowledges a job
 * before it reaches the disk (AOF `everysec`), and a failover to a replica that had not seen it
 * loses it; PostgreSQL still holds the item as queued, with the id of the job that carries it. An
 * item put on the queue more than ORPHANED_AFTER_MS ago counts as orphaned when that job no longer
 * exists in Redis or finished (failed for good: stalled too often, say) while the item is still
 * queued; a backlog, however long, is not a loss, and a busy queue hides no orphans. Items queued
 * before job ids were recorded are judged the old way: only while their model's queue is empty.
 * Re-running an item is harmless: workers write the same row and point and count it once.
 *
 * Dual-writes likewise: an embedded item without its vector by a live version that a rollout
 * finished backfilling (see `ItemVectorRepository.missingAcrossTenants`), whose dual-write job is
 * gone or finished, gets a dual-write job again; without it a promotion would serve a collection
 * that lacks the item, or a rollback one that lacks it.
 */
@Injectable()
export class OrphanedItemsRequeueHandler implements JobHandler<'OrphanedItemsRequeue'> {
  readonly job = 'OrphanedItemsRequeue' as const;
  private readonly logger = new Logger('OrphanedItemsRequeue');

  constructor(
    private readonly items: ItemQueueRepository,
    private readonly vectors: ItemVectorRepository,
    private readonly queues: EmbedQueues,
    private readonly metrics: Metrics,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async handle(): Promise<{ requeued: number }> {
    const sweep = Date.now();
    const idle = new Map<string, boolean>();
    const queueIdle = async (model: string) => {
      if (!idle.has(model)) idle.set(model, (await this.queues.depth(model)) === 0);
      return idle.get(model)!;
    };
    let requeued = 0;
    for (const stream of await this.items.streamsWithLagAcrossTenants()) {
      let after: string | undefined;
      for (;;) {
        const page = await this.items.queuedBefore(
          stream.tenantId,
          stream.id,
          this.config.ORPHANED_AFTER_MS,
          PAGE,
          after,
        );
        if (page.length === 0) break;
        // Each item's job is on the queue of the model it was accepted for: the stream's model
        // changes when a rollout is promoted, and items queued before keep theirs.
        for (const model of new Set(page.map((item) => item.model))) {
          requeued += await this.requeue(
            stream,
            model,
            page.filter((item) => item.model === model),
            sweep,
            queueIdle,
          );
        }
        if (page.length < PAGE) break;
        after = page[page.length - 1]!.id;
      }
    }
    requeued += await this.requeueDualWrites();
    return { requeued };
  }

  /** Dual-writes that never arrived (a page of them per sweep), enqueued again. */
  private async requeueDualWrites(): Promise<number> {
    const missing = await this.vectors.missingAcrossTenants(this.config.ORPHANED_AFTER_MS, PAGE);
    const groups = new Map<string, MissingVersionVector[]>();
    for (const item of missing) {
      const key = `${item.streamId}\u0000${item.versionId}`;
      groups.set(key, [...(groups.get(key) ?? []), item]);
    }
    let requeued = 0;
    for (const group of groups.values()) {
      const { tenantId, streamId, collectionId, versionId, model } = group[0]!;
      // The dual-write job made at ingest, still waiting or running: a backlog, not a loss.
      const made = group.flatMap((item) => (item.jobId ? [dualWriteJobId(item.jobId, versionId)] : []));
      const gone = await this.queues.finishedOrGone(model, made);
      const lost = group.filter((item) => !item.jobId || gone.has(dualWriteJobId(item.jobId, versionId)));
      if (lost.length === 0) continue;
      // One id per set of items: while a repair waits in a backlog, the next sweep adds nothing.
      await this.queues.enqueueVersion(
        { id: streamId, tenantId, collectionId, model },
        { id: versionId, model },
        lost.map((item) => ({ ...item, acceptedAt: item.acceptedAt.getTime() })),
        '.repair',
      );
      this.metrics.itemsRequeued.inc({ model }, lost.length);
      this.logger.warn(
        `stream ${streamId}: dual-wrote again ${lost.length} items missing from version ${versionId}`,
      );
      requeued += lost.length;
    }
    return requeued;
  }

  /** The orphans among items put on one model's queue, enqueued again there. */
  private async requeue(
    stream: StreamWithLag,
    model: string,
    page: QueuedItem[],
    sweep: number,
    queueIdle: (model: string) => Promise<boolean>,
  ): Promise<number> {
    const jobIds = [...new Set(page.flatMap((item) => (item.jobId ? [item.jobId] : [])))];
    const lost = await this.queues.finishedOrGone(model, jobIds);
    const legacy = page.some((item) => !item.jobId) && (await queueIdle(model));
    const candidates = page.filter((item) => (item.jobId ? lost.has(item.jobId) : legacy));
    // A job that finished since the page was read wrote its items first: they are not queued now.
    const still = await this.items.stillQueued(
      stream.tenantId,
      stream.id,
      candidates.map((item) => item.id),
    );
    const orphans = candidates.filter((item) => still.has(item.id));
    if (orphans.length === 0) return 0;
    // A new job id: the lost job's id may still be known to BullMQ (kept as failed, say).
    const carried = await this.queues.enqueue(
      { ...stream, model },
      orphans.map((item) => ({ ...item, acceptedAt: item.acceptedAt.getTime() })),
      `.r${sweep}`,
    );
    await this.items.recordRequeued(stream.tenantId, stream.id, carried);
    this.metrics.itemsRequeued.inc({ model }, orphans.length);
    this.logger.warn(`stream ${stream.id}: enqueued again ${orphans.length} items whose job was lost`);
    return orphans.length;
  }
}
