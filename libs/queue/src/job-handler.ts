import type { Job } from './bullmq';
import type { JobData, JobName, QueueRef } from './jobs';

/**
 * Processes one kind of job, on every queue that carries it. A worker refuses to start while a
 * served job has no handler. A legacy-named job (`legacyJobNames`) reaches the handler of the job
 * it became, so a handler never reads `job.name`.
 */
export interface JobHandler<N extends JobName = JobName> {
  readonly job: N;
  /**
   * Called once at start, before any of `queues` (the served queues carrying this job) takes a
   * job: load what the jobs need (models, a store).
   */
  open?(queues: readonly QueueRef[]): Promise<void>;
  handle(job: Job<JobData<N>>): Promise<unknown>;
  /** Called at shutdown once every worker has finished its jobs in hand, before connections close. */
  close?(): Promise<void>;
}

/** Nest token for the list of every {@link JobHandler} in a worker. */
export const JOB_HANDLERS = Symbol('tributary.job-handlers');
