// Every job definition is public: the typed union, names, options, families and queue names.
export * from './jobs';
export {
  ITEM_EMBED_MAX_ITEMS,
  dualWriteJobId,
  enqueuedItems,
  itemEmbedJobId,
  itemEmbedJobs,
} from './item-embed.job';
export type {
  EnqueuedItem,
  ItemEmbedData,
  ItemEmbedEntry,
  ItemToEnqueue,
  StreamItem,
  StreamRef,
} from './item-embed.job';
export { JOB_HANDLERS } from './job-handler';
export type { JobHandler } from './job-handler';
export {
  bullPrefix,
  createQueue,
  createWorker,
  queueWaitListKey,
  STALLED_CHECK_MAX_INTERVAL_MS,
  UnrecoverableError,
} from './bullmq';
export type { Job, Queue, QueueConnection, Worker } from './bullmq';
export { EmbedQueues, QUEUE_OPTIONS } from './embed-queues';
export type { QueueOptions } from './embed-queues';
export { QueueModule } from './queue.module';
