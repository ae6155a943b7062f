import type { JobsOptions } from 'bullmq';

/**
 * Every queue and the jobs it carries. A worker serves whole queues (`WORKER_QUEUES`), so each
 * queue can scale as its own deployment.
 */
export const queueJobs = {
  maintenance: ['ApiKeyUsageFlush', 'RequeueOrphanedItems'],
} as const;

export type QueueName = keyof typeof queueJobs;
export const queueNames = Object.keys(queueJobs) as QueueName[];

/** The typed job union: a job's name fixes the shape of its data. No secrets in job data. */
export type JobDefinition =
  | { name: 'ApiKeyUsageFlush'; data: Record<string, never> }
  | { name: 'RequeueOrphanedItems'; data: Record<string, never> };
export type JobName = JobDefinition['name'];
export type JobData<N extends JobName> = Extract<JobDefinition, { name: N }>['data'];

/** Options next to each job: attempts, backoff, and bounded retention of finished jobs. */
export const jobOptions: { [N in JobName]: JobsOptions } = {
  ApiKeyUsageFlush: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  },
  RequeueOrphanedItems: {
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  },
};

/** The queue a job belongs to. */
export function queueOf(job: JobName): QueueName {
  for (const queue of queueNames) {
    if ((queueJobs[queue] as readonly string[]).includes(job)) return queue;
  }
  throw new Error(`job ${job} belongs to no queue`);
}
