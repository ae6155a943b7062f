import { createHash } from 'node:crypto';

/** One stream item inside an `ItemEmbed` job. */
export interface ItemEmbedEntry {
  itemId: string;
  text: string;
  /** Milliseconds since the epoch when the API accepted the item (freshness is measured from it). */
  acceptedAt: number;
}

/**
 * The data of an `ItemEmbed` job: up to {@link ITEM_EMBED_MAX_ITEMS} items of one stream, ids and
 * text, never keys or secrets. (One job per item made BullMQ's own bookkeeping cost as much as the
 * inference.) Its id is derived from the items, so the same items enqueued twice are one job;
 * workers micro-batch items across jobs.
 */
export interface ItemEmbedData {
  tenantId: string;
  streamId: string;
  collectionId: string;
  /**
   * Set for a dual-write: embed the items into this version of the collection only (a rollout's
   * candidate, a promotion's retained previous version), not counted. Unset: the items' own
   * embedding, which counts them.
   */
  versionId?: string;
  items: ItemEmbedEntry[];
}

/** One item with the stream it belongs to: what the worker's micro-batcher handles. */
export interface StreamItem extends ItemEmbedEntry {
  tenantId: string;
  streamId: string;
  collectionId: string;
  versionId?: string;
}

/** An item a caller puts on its model's queue: its id, text, delivery number and when it was accepted. */
export interface ItemToEnqueue {
  id: string;
  text: string;
  /** 0 at ingest, then one more per retry through the API; part of the job id. */
  retries: number;
  /** Milliseconds since the epoch. */
  acceptedAt: number;
}

/** An enqueued item and the id of the job that carries it (what the orphan sweep looks for in Redis). */
export interface EnqueuedItem {
  id: string;
  jobId: string;
}

/** The stream whose items are enqueued: its ids and the model whose queue takes them. */
export interface StreamRef {
  id: string;
  tenantId: string;
  collectionId: string;
  model: string;
}

export const ITEM_EMBED_MAX_ITEMS = 100;

/**
 * The BullMQ job id of a set of items: the stream, a digest of the item ids and their delivery
 * numbers (0 at ingest, then one more per retry through the API). Sending the same items again
 * gives the same id, which BullMQ keeps as one job.
 */
export function itemEmbedJobId(streamId: string, items: { id: string; retries: number }[]): string {
  const digest = createHash('sha256');
  for (const item of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    digest.update(`${item.id}\u0000${item.retries}\u0000`);
  // BullMQ forbids ':' in custom ids.
  return `${streamId}.${digest.digest('base64url')}`;
}

/** The id of the dual-write job for version `versionId` made with the items' own job `jobId`. */
export function dualWriteJobId(jobId: string, versionId: string): string {
  return `${jobId}.v${versionId}`;
}

/**
 * The `ItemEmbed` jobs that carry a stream's items, without options: chunks of
 * {@link ITEM_EMBED_MAX_ITEMS}, each with the id {@link itemEmbedJobId} gives it (for a dual-write,
 * {@link dualWriteJobId} of it) plus `idSuffix` when the same items must run again as a new job (a
 * re-enqueue after their job was lost).
 */

export function itemEmbedJobs(
  stream: Omit<StreamRef, 'model'>,
  items: ItemToEnqueue[],
  idSuffix = '',
  versionId?: string,
): { jobId: string; data: ItemEmbedData }[] {
  const jobs = [];
  for (let i = 0; i < items.length; i += ITEM_EMBED_MAX_ITEMS) {
    const chunk = items.slice(i, i + ITEM_EMBED_MAX_ITEMS);
    const own = itemEmbedJobId(stream.id, chunk);
    jobs.push({
      jobId: `${versionId ? dualWriteJobId(own, versionId) : own}${idSuffix}`,
      data: {
        tenantId: stream.tenantId,
        streamId: stream.id,
        collectionId: stream.collectionId,
        ...(versionId ? { versionId } : {}),
        items: chunk.map((item) => ({ itemId: item.id, text: item.text, acceptedAt: item.acceptedAt })),
      },
    });
  }
  return jobs;
}

/** Each item of the jobs with the id of the job carrying it. */
export function enqueuedItems(jobs: { jobId: string; data: ItemEmbedData }[]): EnqueuedItem[] {
  return jobs.flatMap((job) => job.data.items.map((item) => ({ id: item.itemId, jobId: job.jobId })));
}
