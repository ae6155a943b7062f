import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { queueNames } from './jobs';

/** One stream item inside an embedding job. */
export interface EmbedJobItem {
  itemId: string;
  text: string;
  /** Milliseconds since the epoch when the API accepted the item (freshness is measured from it). */
  acceptedAt: number;
}

/**
 * Embedding work: one queue per model version, so workers scale per model. A job carries up to
 * {@link EMBED_JOB_MAX_ITEMS} items of one stream: ids and text, never keys or secrets. (One job
 * per item made BullMQ's own bookkeeping cost as much as the inference.) Its id is derived from the
 * items, so the same items enqueued twice are one job; workers micro-batch across jobs.
 */
export interface EmbedItemsJob {
  tenantId: string;
  streamId: string;
  collectionId: string;
  items: EmbedJobItem[];
}

/** An item with the stream it belongs to, as the worker's batcher handles it. */
export interface EmbedItemJob extends EmbedJobItem {
  tenantId: string;
  streamId: string;
  collectionId: string;
}

export const EMBED_JOB_MAX_ITEMS = 100;

export const EMBED_JOB = 'EmbedItem';

/** The queue of one model version: `use-lite@1` → `embed-use-lite-1`. */
export function embedQueueName(model: string): string {
  return `embed-${model.replace(/@/g, '-').replace(/[^a-z0-9-]/gi, '_')}`;
}

/** Every queue a worker can serve: the static ones and one embedding queue per model version. */
export function workerQueueNames(models: readonly string[]): string[] {
  return [...queueNames, ...models.map(embedQueueName)];
}

/**
 * The BullMQ job id of a set of items: the stream, a digest of the item ids and their delivery
 * numbers (0 at ingest, then one more per retry through the API). Sending the same items again
 * gives the same id, which BullMQ keeps as one job.
 */
export function embedJobId(streamId: string, items: { id: string; retries: number }[]): string {
  const digest = createHash('sha256');
  for (const item of [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    digest.update(`${item.id}\u0000${item.retries}\u0000`);
  // BullMQ forbids ':' in custom ids.
  return `${streamId}.${digest.digest('base64url')}`;
}

export const embedJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  // Finished jobs are forgotten (Postgres holds the item); failed ones are kept for inspection.
  removeOnComplete: true,
  removeOnFail: { count: 10_000, age: 7 * 24 * 3600 },
};

/** An item to enqueue for embedding: its id, text, delivery number and when it was accepted. */
export interface ItemToEmbed {
  id: string;
  text: string;
  retries: number;
  acceptedAt: number;
}

/**
 * The jobs (for `Queue.addBulk`) that embed a stream's items: chunks of {@link EMBED_JOB_MAX_ITEMS},
 * each with the id {@link embedJobId} gives it, plus `idSuffix` when the same items must run again
 * as a new job (a re-enqueue after their job was lost).
 */
export function embedJobsFor(
  stream: { tenantId: string; id: string; collectionId: string },
  items: ItemToEmbed[],
  idSuffix = '',
): { name: string; data: EmbedItemsJob; opts: JobsOptions }[] {
  const jobs = [];
  for (let i = 0; i < items.length; i += EMBED_JOB_MAX_ITEMS) {
    const chunk = items.slice(i, i + EMBED_JOB_MAX_ITEMS);
    jobs.push({
      name: EMBED_JOB,
      data: {
        tenantId: stream.tenantId,
        streamId: stream.id,
        collectionId: stream.collectionId,
        items: chunk.map((item) => ({ itemId: item.id, text: item.text, acceptedAt: item.acceptedAt })),
      },
      opts: { ...embedJobOptions, jobId: `${embedJobId(stream.id, chunk)}${idSuffix}` },
    });
  }
  return jobs;
}
