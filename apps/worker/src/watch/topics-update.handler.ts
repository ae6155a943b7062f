import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { WatchRepository, type TopicCursor, type WatchedCollection } from '@tributary/db';
import { TopicTracker, type TopicTrackerState } from '@tributary/drift';
import { Metrics } from '@tributary/observability';
import { EmbedQueues, type CollectionJobData, type Job, type JobHandler } from '@tributary/queue';
import { int8CosineRanker } from '@tributary/vector-store';
import { watchCollectionLabel } from './watch-labels';

/** Stored inputs read per statement, and for how long one update reads at most. */
const PAGE = 1_000;
const UPDATE_MS = 5_000;

/** The job id of a collection's topic update: one waiting or running per collection, so one writer. */
export const topicsUpdateJobId = (collectionId: string) => `topics.${collectionId}`;

/** What the worker's trackers run with: usearch's SIMD scan ranks their centroids. */
const TRACKER_RUNTIME = { ranker: int8CosineRanker };

/** A collection's new tracker. */
export function newTopicTracker(dimensions: number): TopicTracker {
  return new TopicTracker({ dimensions }, TRACKER_RUNTIME);
}

/** A tracker's state as stored (JSON text), and back. */
export function encodeTopicState(tracker: TopicTracker): Buffer {
  return Buffer.from(JSON.stringify(tracker.toJSON()));
}
export function decodeTopicState(bytes: Buffer): TopicTracker {
  return TopicTracker.fromJSON(JSON.parse(bytes.toString('utf8')) as TopicTrackerState, TRACKER_RUNTIME);
}

/** `TopicsUpdateQueueAll` (scheduled): one `TopicsUpdate` per collection (at most one waiting each). */
@Injectable()
export class TopicsUpdateQueueAllHandler implements JobHandler<'TopicsUpdateQueueAll'> {
  readonly job = 'TopicsUpdateQueueAll' as const;

  constructor(
    private readonly watch: WatchRepository,
    private readonly queues: EmbedQueues,
  ) {}

  async handle(): Promise<{ queued: number }> {
    const collections = await this.watch.collectionsAcrossTenants();
    for (const c of collections) {
      await this.queues.enqueueSingle(
        'TopicsUpdate',
        { tenantId: c.tenantId, collectionId: c.collectionId },
        topicsUpdateJobId(c.collectionId),
      );
    }
    return { queued: collections.length };
  }
}

/**
 * `TopicsUpdate`: feeds a collection's emerging-topic tracker (libs/drift's `TopicTracker`, one per
 * collection and serving model, its state in PostgreSQL) the items embedded since it last read,
 * incrementally (no re-clustering), **in event-time order**: keyset over (event time, stream,
 * item) up to a watermark, the earlier of the newest event time embedded less `TRENDS_LATENESS_MS`
 * and the earliest event time of an item of the collection still waiting to be embedded. So the
 * order the tracker sees does not depend on how fast items came in or were embedded: replaying
 * history at full speed gives the topics living through it gave. An item that arrives after the
 * watermark passed its event time is late and not counted (as in Flink or Beam without allowed
 * lateness beyond the bound). One job per collection at a time (its job id), so one writer.
 */
@Injectable()
export class TopicsUpdateHandler implements JobHandler<'TopicsUpdate'> {
  readonly job = 'TopicsUpdate' as const;
  private readonly logger = new Logger('TopicsUpdate');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly watch: WatchRepository,
    private readonly metrics: Metrics,
  ) {}

  async handle(job: Job<CollectionJobData>): Promise<{ read: number; topics: number } | { skipped: string }> {
    const c = await this.watch.collection(job.data.tenantId, job.data.collectionId);
    if (!c) return { skipped: 'the collection is gone' };
    return this.update(c);
  }

  /** Reads what the tracker has not seen, up to the watermark, and saves it with its cursor. */
  async update(c: WatchedCollection): Promise<{ read: number; topics: number }> {
    const saved = await this.watch.topicState(c.collectionId, c.model);
    const tracker = saved ? decodeTopicState(saved.state) : newTopicTracker(c.dimensions);
    let cursor: TopicCursor | null = saved?.cursor ?? null;
    const watermark = await this.watch.topicWatermark(c, this.config.TRENDS_LATENESS_MS);
    let read = 0;
    let counted = 0;
    const until = Date.now() + UPDATE_MS;
    while (watermark && Date.now() < until) {
      const page = await this.watch.inputsAfter(c, cursor, watermark, PAGE);
      for (const input of page) {
        if (
          tracker.add({
            id: input.itemId,
            text: input.text,
            eventTime: input.eventAt.getTime(),
            vector: input.vector,
          })
        )
          counted += 1;
      }
      read += page.length;
      if (page.length > 0) {
        const last = page[page.length - 1]!;
        cursor = { eventAt: last.eventAt, streamId: last.streamId, itemId: last.itemId };
      }
      if (page.length < PAGE) break;
    }
    if (read > 0 || !saved) await this.watch.saveTopicState(c, { state: encodeTopicState(tracker), cursor });
    if (read > 0) {
      this.metrics.trendItems.inc({ outcome: 'counted' }, counted);
      if (read > counted) this.metrics.trendItems.inc({ outcome: 'too_old' }, read - counted);
    }
    const latest = tracker.latestEventTime;
    if (latest !== undefined) {
      const bucket = tracker.options.bucketMs;
      const to = Math.ceil((latest + 1) / bucket) * bucket;
      const window = Math.max(bucket, Math.round(this.config.TRENDS_WINDOW_MS / bucket) * bucket);
      const emerging = tracker.trends({ from: to - window, to, limit: 100 }).topics.length;
      this.metrics.topicsEmerging.set({ collection: watchCollectionLabel(this.config, c) }, emerging);
    }
    if (read > 0)
      this.logger.debug({ collectionId: c.collectionId, read, topics: tracker.size }, 'topics updated');
    return { read, topics: tracker.size };
  }
}
