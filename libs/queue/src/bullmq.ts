import { Queue, Worker, type Job, type Processor } from 'bullmq';
import { redisConnectionOptions, type RedisRole } from './redis';
import { bullPrefix } from './redis-keys';
import type { QueueName } from './jobs';

export interface QueueConnection {
  redisUrl: string;
  /** `REDIS_PREFIX`; BullMQ keys live under `<prefix>:bull`. */
  prefix: string;
}

/** A producer for one queue (used by the scheduler and, later, the API). */
export function createQueue(name: QueueName, connection: QueueConnection, clientName: string): Queue {
  return new Queue(name, {
    connection: redisConnectionOptions(connection.redisUrl, 'worker', clientName),
    prefix: bullPrefix(connection.prefix),
  });
}

/** A BullMQ worker for one queue, on a connection that retries forever as BullMQ requires. */
export function createWorker(
  name: QueueName,
  processor: Processor,
  connection: QueueConnection,
  concurrency: number,
): Worker {
  return new Worker(name, processor, {
    connection: redisConnectionOptions(connection.redisUrl, 'worker', `worker:${name}`),
    prefix: bullPrefix(connection.prefix),
    concurrency,
  });
}

/**
 * A producer for a queue whose name is computed (the per-model embedding queues). On the request
 * path use the `producer` role: commands fail at once while Redis is away (the API answers 503)
 * instead of waiting for it.
 */
export function createNamedQueue(
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

/** A worker for a computed queue name, with BullMQ's worker options (concurrency, lock duration). */
export function createNamedWorker(
  name: string,
  processor: Processor,
  connection: QueueConnection,
  options: { concurrency: number; lockDurationMs?: number },
): Worker {
  return new Worker(name, processor, {
    connection: redisConnectionOptions(connection.redisUrl, 'worker', `worker:${name}`),
    prefix: bullPrefix(connection.prefix),
    concurrency: options.concurrency,
    ...(options.lockDurationMs
      ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs }
      : {}),
  });
}

export type { Job, Queue, Worker };
export { UnrecoverableError } from 'bullmq';
