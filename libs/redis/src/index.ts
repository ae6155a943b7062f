export { createRedis, redisConnectionOptions, redisOptions, waitForRedis } from './redis';
export type { RedisRole } from './redis';
export { liveLoadedModelsBeat, redisKeys } from './redis-keys';
export type { LoadedModelsBeat } from './redis-keys';
export type { Redis } from 'ioredis';
