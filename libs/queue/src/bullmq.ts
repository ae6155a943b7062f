import { Queue, QueueKeys, Worker, type Job, type Processor } from 'bullmq';
import { redisConnectionOptions, type RedisRole } from '@tributary/redis';
import type { QueueWorkerOptions } from './jobs';

/** BullMQ's key prefix under `REDIS_PREFIX`. */
export function bullPrefix(prefix: string): string {
  return `${prefix}:bull`;
}

export interface QueueConnection {
  redisUrl: string;
  /** `REDIS_PREFIX`; BullMQ keys live under `<prefix>:bull`. */
  prefix: string;
}

/**
 * The Redis list of a queue's waiting jobs, named as BullMQ names it under `REDIS_PREFIX`
 * (`<prefix>:bull:<queue>:wait`): what an autoscaler measures, e.g. KEDA's redis trigger in
 * deploy/kubernetes.
 */
export function queueWaitListKey(prefix: string, queue: string): string {
  return new QueueKeys(bullPrefix(prefix)).toKey(queue, 'wait');
}

/**
 * A producer for one queue. On the request path use the `producer` role: commands fail at once
 * while Redis is away instead of waiting for it.
 */
export function createQueue(
  name: string,
  connection: QueueConnection,
  clientName: string,
  role: RedisRole = 'worker',
): Queue {
  return new Queue(name, {
    connection: redisConnectionOptions(connection.redisUrl, role, clientName),
    prefix: bullPrefix(connection.prefix),
  });
}

/** The longest pause between two stalled-job checks of a queue (see {@link createWorker}). */
export const STALLED_CHECK_MAX_INTERVAL_MS = 5_000;

/**
 * A BullMQ worker for one queue, on a connection that retries forever as BullMQ requires, with the
 * queue's worker options (`queueFamilies` in jobs.ts).
 *
 * A job held by a killed worker comes back once its lock has expired and a stalled-job check has
 * seen it twice (once to mark it, once to move it), and the first check of a new worker may be
 * held off by the stalled-check key its dead predecessor set for one interval. With the check
 * interval equal to the lock duration that is up to two lock durations after the kill; checks at
 * most {@link STALLED_CHECK_MAX_INTERVAL_MS} apart bound it to about the lock duration plus
 * two checks. A check only moves jobs whose lock is gone, so checking often never takes a job
 * from a live worker; it costs one script over the active list.
 */
export function createWorker(
  name: string,
  processor: Processor,
  connection: QueueConnection,
  options: QueueWorkerOptions,
): Worker {
  const lockDuration = options.lockDurationMs ?? 30_000;
  return new Worker(name, processor, {
    connection: redisConnectionOptions(connection.redisUrl, 'worker', `worker:${name}`),
    prefix: bullPrefix(connection.prefix),
    concurrency: options.concurrency,
    lockDuration,
    stalledInterval: Math.min(lockDuration, STALLED_CHECK_MAX_INTERVAL_MS),
  });
}

export type { Job, Queue, Worker };
export { UnrecoverableError } from 'bullmq';
