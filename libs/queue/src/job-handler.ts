import type { Job } from './bullmq';
import type { JobData, JobName } from './jobs';

/** Processes one kind of job. A worker refuses to start while a served job has no handler. */
export interface JobHandler<N extends JobName = JobName> {
  readonly job: N;
  handle(job: Job<JobData<N>, unknown, N>): Promise<unknown>;
}

/** Nest token for the list of every {@link JobHandler} in a worker. */
export const JOB_HANDLERS = Symbol('tributary.job-handlers');
