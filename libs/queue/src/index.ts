export { createRedis, redisConnectionOptions, redisOptions, waitForRedis } from './redis';
export type { RedisRole } from './redis';
export { bullPrefix, redisKeys } from './redis-keys';
export { jobOptions, queueJobs, queueNames, queueOf } from './jobs';
export type { JobData, JobDefinition, JobName, QueueName } from './jobs';
export { JOB_HANDLERS } from './job-handler';
export type { JobHandler } from './job-handler';
export {
  createNamedQueue,
  createNamedWorker,
  createQueue,
  createWorker,
  queueWaitListKey,
  UnrecoverableError,
} from './bullmq';
export type { Job, Queue, QueueConnection, Worker } from './bullmq';
export type { Redis } from 'ioredis';
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
export { EmbeddingCacheStore } from './embedding-cache-store';
export type { CacheInput, EmbeddingCacheOptions, EmbeddingCacheScope } from './embedding-cache-store';
export { decodeVector, encodeVector, fromFloat16, toFloat16 } from './vector-codec';
export type { VectorFormat } from './vector-codec';
export {
  appendIndexOp,
  decodeIndexOp,
  fromPayload,
  indexOpHeader,
  itemPayload,
  metadataFilter,
} from './index-log';
export type { IndexOp, IndexPayload, IndexPoint } from './index-log';
