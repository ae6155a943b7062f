export { createRedis, redisOptions, waitForRedis } from './redis';
export type { RedisRole } from './redis';
export { bullPrefix, redisKeys } from './redis-keys';
export { jobOptions, queueJobs, queueNames, queueOf } from './jobs';
export type { JobData, JobDefinition, JobName, QueueName } from './jobs';
export { JOB_HANDLERS } from './job-handler';
export type { JobHandler } from './job-handler';
