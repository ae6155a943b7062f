import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a Redis connection is used, following BullMQ's production guidance: workers block and must
 * retry forever (`maxRetriesPerRequest: null`); request-path producers fail fast instead of
 * queueing commands while Redis is away, so an API call answers 503 rather than hanging.
 */
export type RedisRole = 'worker' | 'producer';

/** Reconnect delay: grows by 200 ms per attempt, at most 5 s. Never gives up. */
const retryStrategy = (times: number): number => Math.min(times * 200, 5_000);

/** ioredis options with a concrete retry strategy (which BullMQ's option type also accepts). */
type ConnectionSettings = RedisOptions & { retryStrategy: typeof retryStrategy };

export function redisOptions(role: RedisRole): ConnectionSettings {
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000, retryStrategy };
}

/**
 * ioredis options for a `redis://` or `rediss://` URL and a role. BullMQ gets options rather than
 * a connection so that it owns (and closes) the connections it makes.
 */
export function redisConnectionOptions(url: string, role: RedisRole, name: string): ConnectionSettings {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    ...redisOptions(role),
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    connectionName: `tributary:${name}`,
  };
}

/** Opens a Redis connection for one role. */
export function createRedis(url: string, role: RedisRole, name: string): Redis {
  return new Redis(url, { ...redisOptions(role), connectionName: `tributary:${name}` });
}

/** Resolves when the connection is ready (useful before serving traffic); rejects after `timeoutMs`. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}
