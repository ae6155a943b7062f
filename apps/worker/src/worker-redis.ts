/** Nest token for the worker's shared Redis connection (BullMQ worker settings). */
export const WORKER_REDIS = Symbol('tributary.worker-redis');
