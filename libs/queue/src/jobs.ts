import type { JobsOptions } from 'bullmq';
import type { Config } from '@tributary/config';
import type { ItemEmbedData } from './item-embed.job';

/**
 * The data of a `RolloutBackfill` job: which rollout's candidate to fill. The cursor lives in
 * PostgreSQL (the rollout row), so any delivery of the job resumes where the last one stopped.
 */
export interface RolloutBackfillData {
  tenantId: string;
  rolloutId: string;
}

/** The data of a `DriftReport` job: the report row (state `running`) to compute. */
export interface DriftReportData {
  tenantId: string;
  reportId: string;
}

/** The data of an `EmbeddingSelfCheck` or `TopicsUpdate` job: the collection to look at. */
export interface CollectionJobData {
  tenantId: string;
  collectionId: string;
}

/** The typed job union: a job's name fixes the shape of its data. No secrets in job data. */
export type JobDefinition =
  | { name: 'ItemEmbed'; data: ItemEmbedData }
  | { name: 'ApiKeyUsageFlush'; data: Record<string, never> }
  | { name: 'OrphanedItemsRequeue'; data: Record<string, never> }
  | { name: 'RolloutBackfill'; data: RolloutBackfillData }
  | { name: 'RolloutSweep'; data: Record<string, never> }
  | { name: 'DriftReportQueueAll'; data: Record<string, never> }
  | { name: 'DriftReport'; data: DriftReportData }
  | { name: 'EmbeddingSelfCheckQueueAll'; data: Record<string, never> }
  | { name: 'EmbeddingSelfCheck'; data: CollectionJobData }
  | { name: 'TopicsUpdateQueueAll'; data: Record<string, never> }
  | { name: 'TopicsUpdate'; data: CollectionJobData };
export type JobName = JobDefinition['name'];
export type JobData<N extends JobName> = Extract<JobDefinition, { name: N }>['data'];

/** Options next to each job: attempts, backoff, and bounded retention of finished jobs. */
export const jobOptions: { [N in JobName]: JobsOptions } = {
  ItemEmbed: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    // Finished jobs are forgotten (PostgreSQL holds the item); failed ones are kept for inspection.
    removeOnComplete: true,
    removeOnFail: { count: 10_000, age: 7 * 24 * 3600 },
  },
  ApiKeyUsageFlush: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  },
  OrphanedItemsRequeue: {
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  },
  RolloutBackfill: {
    // Each delivery resumes from the cursor; a job that fails is tried again, and the one that
    // fails for good marks its rollout failed with the reason.
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: true,
    removeOnFail: { count: 1_000, age: 7 * 24 * 3600 },
  },
  RolloutSweep: {
    attempts: 1,
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 500 },
  },
  // The fan-outs: one job per collection each time, with an id of its own (a job still waiting
  // for a collection is not added twice).
  DriftReportQueueAll: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  DriftReport: {
    // A report that fails for good is marked failed with the reason.
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { count: 1_000, age: 7 * 24 * 3600 },
  },
  EmbeddingSelfCheckQueueAll: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  EmbeddingSelfCheck: {
    attempts: 2,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: true,
    removeOnFail: { count: 1_000, age: 7 * 24 * 3600 },
  },
  TopicsUpdateQueueAll: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  TopicsUpdate: {
    // Its cursor is in PostgreSQL: the next update reads on from there.
    attempts: 1,
    removeOnComplete: true,
    removeOnFail: { count: 1_000, age: 7 * 24 * 3600 },
  },
};

/**
 * Names jobs had before they were spelled `<Entity><Verb>`. Jobs added under them before an
 * upgrade are still in Redis (waiting, delayed, retrying) and are processed as the job they became;
 * the scheduler removes the job schedulers registered under them.
 */
export const legacyJobNames = {
  EmbedItem: 'ItemEmbed',
  RequeueOrphanedItems: 'OrphanedItemsRequeue',
} as const satisfies Record<string, JobName>;

/** The job a BullMQ job name stands for (its legacy names included), or undefined. */
export function jobNameOf(name: string): JobName | undefined {
  if (Object.hasOwn(jobOptions, name)) return name as JobName;
  if (Object.hasOwn(legacyJobNames, name)) return legacyJobNames[name as keyof typeof legacyJobNames];
  return undefined;
}

/** The legacy names of a job. */
export function legacyNamesOf(job: JobName): string[] {
  return Object.entries(legacyJobNames).flatMap(([legacy, current]) => (current === job ? [legacy] : []));
}

/** What a worker process reads to size its BullMQ workers. */
export type WorkerSettings = Pick<
  Config,
  'WORKER_CONCURRENCY' | 'EMBED_WORKER_CONCURRENCY' | 'EMBED_WORKER_LOCK_MS'
>;

/** BullMQ worker options of one queue. */
export interface QueueWorkerOptions {
  /** Jobs one worker process holds at once on the queue. */
  concurrency: number;
  /** How long a job's lock lasts without renewal. @defaultValue 30000 (BullMQ's) */
  lockDurationMs?: number;
}

interface QueueFamilyDefinition {
  /** How the worker's log lines name these queues. */
  label: string;
  /** One queue (named as the family), or one per model version (`<prefix>-<model>`). */
  perModel: boolean;
  /** For a per-model family: the queue names' prefix. */
  prefix?: string;
  jobs: readonly JobName[];
  worker: (settings: WorkerSettings) => QueueWorkerOptions;
}

/**
 * Every queue and the jobs it carries, with the options of the workers that serve it. A worker
 * serves whole queues (`WORKER_QUEUES`), so each queue can scale as its own deployment; the
 * embedding queues are one per model version, so workers scale per model.
 */
export const queueFamilies = {
  maintenance: {
    label: 'maintenance',
    perModel: false,
    jobs: ['ApiKeyUsageFlush', 'OrphanedItemsRequeue', 'RolloutSweep'],
    worker: (s) => ({ concurrency: s.WORKER_CONCURRENCY }),
  },
  embed: {
    label: 'embedding',
    perModel: true,
    jobs: ['ItemEmbed'],
    // Jobs of up to 100 items each, micro-batched together: many in hand at once. A killed
    // worker's jobs come back about a lock duration after the kill.
    worker: (s) => ({ concurrency: s.EMBED_WORKER_CONCURRENCY, lockDurationMs: s.EMBED_WORKER_LOCK_MS }),
    prefix: 'embed',
  },
  watch: {
    label: 'quality watch',
    perModel: false,
    jobs: [
      'DriftReportQueueAll',
      'DriftReport',
      'EmbeddingSelfCheckQueueAll',
      'TopicsUpdateQueueAll',
      'TopicsUpdate',
    ],
    // Reports and topic updates read PostgreSQL and compute; none needs a model loaded.
    worker: (s) => ({ concurrency: s.WORKER_CONCURRENCY }),
  },
  selfcheck: {
    label: 'self-check',
    perModel: true,
    jobs: ['EmbeddingSelfCheck'],
    // Re-embeds a sample with the collection's model (background priority): served where it is loaded.
    worker: () => ({ concurrency: 1 }),
    prefix: 'selfcheck',
  },
  backfill: {
    label: 'backfill',
    perModel: true,
    jobs: ['RolloutBackfill'],
    // A queue of its own, one job at a time per worker: live items keep the models' capacity
    // (the backfill also waits while their queue has items waiting).
    worker: (s) => ({ concurrency: 1, lockDurationMs: s.EMBED_WORKER_LOCK_MS }),
    prefix: 'backfill',
  },
} as const satisfies Record<string, QueueFamilyDefinition>;

export type QueueFamily = keyof typeof queueFamilies;
export const queueFamilyNames = Object.keys(queueFamilies) as QueueFamily[];

/** One queue: its name, its family and, for a per-model family, the model version it serves. */
export interface QueueRef {
  name: string;
  family: QueueFamily;
  /** Set for the queues of a per-model family. */
  model?: string;
}

/** The embedding queue of one model version: `use-lite@1` → `embed-use-lite-1`. */
export function embedQueueName(model: string): string {
  return perModelQueueName('embed', model);
}

/** The backfill queue of one model version: `use-lite@1` → `backfill-use-lite-1`. */
export function backfillQueueName(model: string): string {
  return perModelQueueName('backfill', model);
}

function perModelQueueName(prefix: string, model: string): string {
  return `${prefix}-${model.replace(/@/g, '-').replace(/[^a-z0-9-]/gi, '_')}`;
}

/** The self-check queue of one model version: `use-lite@1` → `selfcheck-use-lite-1`. */
export function selfCheckQueueName(model: string): string {
  return perModelQueueName('selfcheck', model);
}

/** Every queue there is for these model versions: the single ones, and each per-model family's queue per model. */
export function queuesFor(models: readonly string[]): QueueRef[] {
  return queueFamilyNames.flatMap((family): QueueRef[] =>
    queueFamilies[family].perModel
      ? models.map((model) => ({
          name: perModelQueueName((queueFamilies[family] as QueueFamilyDefinition).prefix!, model),
          family,
          model,
        }))
      : [{ name: family, family }],
  );
}

/** Every queue name a worker can serve, for these model versions. */
export function workerQueueNames(models: readonly string[]): string[] {
  return queuesFor(models).map((q) => q.name);
}

/** The family that carries a job. */
export function familyOf(job: JobName): QueueFamily {
  for (const family of queueFamilyNames) {
    if ((queueFamilies[family].jobs as readonly JobName[]).includes(job)) return family;
  }
  throw new Error(`job ${job} belongs to no queue`);
}

/** Jobs whose family is a single queue (the recurring ones the scheduler produces). */
export type SingleQueueJob = {
  [F in QueueFamily]: (typeof queueFamilies)[F]['perModel'] extends false
    ? (typeof queueFamilies)[F]['jobs'][number]
    : never;
}[QueueFamily];

/** The queue of a job carried by a single queue. */
export function queueOf(job: SingleQueueJob): string {
  const family = familyOf(job);
  if (queueFamilies[family].perModel) throw new Error(`job ${job} has one queue per model`);
  return family;
}
