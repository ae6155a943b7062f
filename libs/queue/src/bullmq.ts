import { Queue, Worker, type Job, type Processor } from 'bullmq';
import { redisConnectionOptions } from './redis';
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

export type { Job, Queue, Worker };
export { UnrecoverableError } from 'bullmq';
