import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { ApiKey, Tenant } from '@tributary/db';
import { redisKeys } from '@tributary/queue';
import { RedisService } from '../redis/redis.module';
import type { TenantPrincipal } from './authenticated-request';

const TTL_SECONDS = 60;

type Stored = { tenant: Tenant; key: ApiKey };

function revive(json: string): TenantPrincipal {
  const parsed = JSON.parse(json) as Stored;
  const dates = <T extends object>(o: T, fields: (keyof T)[]): T => {
    for (const f of fields) if (o[f]) (o as Record<keyof T, unknown>)[f] = new Date(o[f] as string);
    return o;
  };
  return {
    tenant: dates(parsed.tenant, ['createdAt', 'updatedAt']),
    key: dates(parsed.key, ['createdAt', 'lastUsedAt', 'revokedAt']),
  };
}

/**
 * Who an API key belongs to, cached in Redis for a minute so a request costs no database round
 * trip. Revocation writes a marker that is read in the same round trip as the entry, so a key stops
 * working at once, even if another replica cached it a moment before. Limit changes reach cached
 * entries within the TTL (they are also dropped on update).
 */
@Injectable()
export class PrincipalCache {
  private readonly logger = new Logger('PrincipalCache');
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: RedisService,
    @Inject(CONFIG) config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  /** The cached principal, `revoked`, or undefined when unknown (or Redis is away). */
  async get(keyHash: string): Promise<TenantPrincipal | 'revoked' | undefined> {
    try {
      const [entry, revoked] = await this.redis.client.mget(
        this.keys.authPrincipal(keyHash),
        this.keys.authRevoked(keyHash),
      );
      if (revoked) return 'revoked';
      return entry ? revive(entry) : undefined;
    } catch (err) {
      this.logger.debug(`auth cache read failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  async set(keyHash: string, principal: TenantPrincipal): Promise<void> {
    const stored: Stored = { tenant: principal.tenant, key: principal.key };
    await this.redis.client
      .set(this.keys.authPrincipal(keyHash), JSON.stringify(stored), 'EX', TTL_SECONDS)
      .catch(() => undefined);
  }

  /** Called on revocation. Throws if Redis cannot record it: a revocation must not be half done. */
  async revoke(keyHash: string): Promise<void> {
    await this.redis.client
      .multi()
      .set(this.keys.authRevoked(keyHash), '1', 'EX', TTL_SECONDS * 10)
      .del(this.keys.authPrincipal(keyHash))
      .exec();
  }

  /** Drops cached entries (after a tenant's limits or default model changed). */
  async forget(keyHashes: string[]): Promise<void> {
    if (keyHashes.length === 0) return;
    await this.redis.client.del(...keyHashes.map((h) => this.keys.authPrincipal(h))).catch(() => undefined);
  }
}
