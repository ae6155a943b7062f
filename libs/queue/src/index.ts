export { jobOptions, queueJobs, queueNames, queueOf } from './jobs';
export type { JobData, JobDefinition, JobName, QueueName } from './jobs';
export { JOB_HANDLERS } from './job-handler';
export type { JobHandler } from './job-handler';
export {
  createNamedQueue,
  createNamedWorker,
  createQueue,
  createWorker,
  bullPrefix,
  queueWaitListKey,
  UnrecoverableError,
} from './bullmq';
export type { Job, Queue, QueueConnection, Worker } from './bullmq';
export {
  EMBED_JOB,
  EMBED_JOB_MAX_ITEMS,
  embedJobId,
  embedJobOptions,
  embedJobsFor,
  embedQueueName,
  workerQueueNames,
} from './embed-jobs';
export type { EmbedItemJob, EmbedItemsJob, EmbedJobItem, ItemToEmbed } from './embed-jobs';
export { EmbedQueueProducers } from './embed-queues';
