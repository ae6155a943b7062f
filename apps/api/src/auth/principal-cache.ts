import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { ApiKey, Tenant } from '@tributary/db';
import { redisKeys } from '@tributary/redis';
import { RedisService } from '../redis/redis.module';
import type { TenantPrincipal } from './authenticated-request';

const TTL_SECONDS = 60;
/** Far longer than any cache entry written in a race with the revocation can live. */
const REVOKED_TTL_SECONDS = TTL_SECONDS * 10;
/** How long this process trusts its own copy; revocation is still checked on every request. */
const LOCAL_TTL_MS = 5_000;
const LOCAL_MAX_ENTRIES = 10_000;

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
 * trip, and in this process for a few seconds so it costs no extra Redis round trip either.
 * Revocation writes a marker that every request reads (with the entry from Redis, or in the same
 * script as the rate-limit charge when the entry is local), so a key stops working at once, even if
 * another replica cached it a moment before. Limit changes reach cached entries within the TTL
 * (they are also dropped on update).
 */
@Injectable()
export class PrincipalCache {
  private readonly keys: ReturnType<typeof redisKeys>;
  private readonly local = new Map<string, { principal: TenantPrincipal; expires: number }>();

  constructor(
    private readonly redis: RedisService,
    @Inject(CONFIG) config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  /**
   * This process's copy, if fresh. The caller must still check revocation
   * ({@link revokedMarker}) in its own round trip.
   */
  getLocal(keyHash: string): TenantPrincipal | undefined {
    const entry = this.local.get(keyHash);
    if (!entry) return undefined;
    if (entry.expires > Date.now()) return entry.principal;
    this.local.delete(keyHash);
    return undefined;
  }

  /** The Redis key that exists once a key is revoked. */
  revokedMarker(keyHash: string): string {
    return this.keys.authRevoked(keyHash);
  }

  /** Drops this process's copy (the key was found revoked, or Redis could not be asked). */
  dropLocal(keyHash: string): void {
    this.local.delete(keyHash);
  }

  private remember(keyHash: string, principal: TenantPrincipal): void {
    // Oldest first: Map keeps insertion order, so the first key is the one to evict.
    if (this.local.size >= LOCAL_MAX_ENTRIES) this.local.delete(this.local.keys().next().value!);
    this.local.set(keyHash, { principal, expires: Date.now() + LOCAL_TTL_MS });
  }

  /**
   * The cached principal, `revoked`, or undefined when not cached; plus the values of `alsoRead`
   * (other keys the caller needs, read in the same round trip). Throws when Redis cannot be asked.
   */
  async lookup(
    keyHash: string,
    alsoRead: string[] = [],
  ): Promise<{ principal: TenantPrincipal | 'revoked' | undefined; also: (string | null)[] }> {
    const [entry, revoked, ...also] = await this.redis.client.mget(
      this.keys.authPrincipal(keyHash),
      this.keys.authRevoked(keyHash),
      ...alsoRead,
    );
    if (revoked) return { principal: 'revoked', also };
    if (!entry) return { principal: undefined, also };
    const principal = revive(entry);
    this.remember(keyHash, principal);
    return { principal, also };
  }

  async set(keyHash: string, principal: TenantPrincipal): Promise<void> {
    this.remember(keyHash, principal);
    const stored: Stored = { tenant: principal.tenant, key: principal.key };
    await this.redis.client
      .set(this.keys.authPrincipal(keyHash), JSON.stringify(stored), 'EX', TTL_SECONDS)
      .catch(() => undefined);
  }

  /**
   * The first step of a revocation: from the moment this resolves, every process refuses the key.
   * Throws unless Redis recorded the marker (a refused command inside the transaction included),
   * so the caller can refuse to go on: a revocation must not be half done.
   */
  async revoke(keyHash: string): Promise<void> {
    this.local.delete(keyHash);
    const results = await this.redis.client
      .multi()
      .set(this.keys.authRevoked(keyHash), '1', 'EX', REVOKED_TTL_SECONDS)
      .del(this.keys.authPrincipal(keyHash))
      .exec();
    const failed = results?.find(([err]) => err)?.[0];
    if (!results || failed) throw failed ?? new Error('the revocation transaction was discarded');
  }

  /** Takes back {@link revoke} when the revocation could not be stored in PostgreSQL. */
  async unrevoke(keyHash: string): Promise<void> {
    await this.redis.client.del(this.keys.authRevoked(keyHash));
  }

  /** Drops cached entries (after a tenant's limits or default model changed). */
  async forget(keyHashes: string[]): Promise<void> {
    if (keyHashes.length === 0) return;
    for (const h of keyHashes) this.local.delete(h);
    await this.redis.client.del(...keyHashes.map((h) => this.keys.authPrincipal(h))).catch(() => undefined);
  }
}
