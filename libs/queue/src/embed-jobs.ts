import type { JobsOptions } from 'bullmq';

/**
 * Embedding work: one queue per model version, so workers scale per model. A job is one stream
 * item; it carries ids and text, never keys or secrets. Its id is derived from the item, so the
 * same item enqueued twice is one job.
 */
export interface EmbedItemJob {
  tenantId: string;
  streamId: string;
  itemId: string;
  collectionId: string;
  text: string;
  /** Milliseconds since the epoch when the API accepted the item (freshness is measured from it). */
  acceptedAt: number;
}

export const EMBED_JOB = 'EmbedItem';

/** The queue of one model version: `use-lite@1` → `embed-use-lite-1`. */
export function embedQueueName(model: string): string {
  return `embed-${model.replace(/@/g, '-').replace(/[^a-z0-9-]/gi, '_')}`;
}

/** The BullMQ job id of an item's n-th delivery (0 at ingest, then one per retry through the API). */
export function embedJobId(streamId: string, itemId: string, retry = 0): string {
  // BullMQ forbids ':' in custom ids; base64url keeps any client id unambiguous.
  return `${streamId}.${Buffer.from(itemId, 'utf8').toString('base64url')}.${retry}`;
}

export const embedJobOptions: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  // Finished jobs are forgotten (Postgres holds the item); failed ones are kept for inspection.
  removeOnComplete: true,
  removeOnFail: { count: 10_000, age: 7 * 24 * 3600 },
};
