export { createRedis, redisConnectionOptions, redisOptions, waitForRedis } from './redis';
export type { RedisRole } from './redis';
export { redisKeys } from './redis-keys';
export type { Redis } from 'ioredis';
