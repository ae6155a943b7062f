import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { ApiKeyUsageRepository } from '@tributary/db';
import { redisKeys, type Redis } from '@tributary/redis';
import { type JobHandler } from '@tributary/queue';
import { WORKER_REDIS } from '../worker-redis';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Deletes a field only if it still holds the value we flushed, so a newer time is never lost. */
const DELETE_IF_UNCHANGED = `
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return removed
`;

/**
 * Moves API key last-used times from Redis (written by the API on each request) to PostgreSQL.
 * Safe to run twice or concurrently: the database only moves times forward, and Redis entries are
 * removed only when unchanged since they were read.
 */
@Injectable()
export class ApiKeyUsageFlushHandler implements JobHandler<'ApiKeyUsageFlush'> {
  readonly job = 'ApiKeyUsageFlush' as const;
  private readonly key: string;

  constructor(
    private readonly usage: ApiKeyUsageRepository,
    @Inject(WORKER_REDIS) private readonly redis: Redis,
    @Inject(CONFIG) config: Config,
  ) {
    this.key = redisKeys(config.REDIS_PREFIX).keyUsage;
  }

  async handle(): Promise<{ flushed: number }> {
    const entries = Object.entries(await this.redis.hgetall(this.key));
    if (entries.length === 0) return { flushed: 0 };
    const valid = entries.filter(([id, at]) => UUID.test(id) && Number.isFinite(Number(at)));
    await this.usage.recordLastUsed(valid.map(([keyId, at]) => ({ keyId, at: new Date(Number(at)) })));
    await this.redis.eval(DELETE_IF_UNCHANGED, 1, this.key, ...entries.flat());
    return { flushed: valid.length };
  }
}
