import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { RateLimitedError, UnavailableError } from '@tributary/contracts';
import { redisKeys } from '@tributary/redis';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';

/**
 * One failed authentication: KEYS[1] the address's failure counter (a fixed window), KEYS[2] its
 * blocked marker, KEYS[3] (optional) the unknown key's negative-cache marker. ARGV limit, window
 * ms, negative-cache ms. Once the count reaches the limit, the marker holds the window's end (ms,
 * Redis clock) and expires with it. Returns the count.
 */
const RECORD_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if KEYS[3] then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('SET', KEYS[2], tostring(now + ttl), 'PX', ttl)
  end
end
return n
`;

export type AuthFailureReason =
  'unknown_key' | 'unknown_key_cached' | 'revoked_key' | 'admin_key' | 'webhook_signature';

/**
 * Throttles failed authentications per client address (`request.ip`, per TRUST_PROXY) on tenant
 * routes, admin routes and webhooks: after AUTH_FAILURES_PER_ADDRESS failures in a window the
 * address is answered 429 until the window ends, before any database lookup. Also remembers key
 * hashes that matched no live key (the negative cache), so repeating a bad key costs no lookup.
 * Only failures write to Redis; the blocked marker is read in a round trip the caller makes anyway
 * where it can (the tenant guard's principal lookup).
 */
@Injectable()
export class AuthFailures {
  private readonly logger = new Logger('AuthFailures');
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  blockedMarker(address: string): string {
    return this.keys.authBlocked(address);
  }

  unknownMarker(keyHash: string): string {
    return this.keys.authUnknown(keyHash);
  }

  /** Throws 429 when `blocked` (the marker's value) says the address is refused. */
  refuseIfBlocked(blocked: string | null | undefined): void {
    if (!blocked) return;
    this.metrics.authFailures.inc({ reason: 'address_limited' });
    const window = this.config.AUTH_FAILURE_WINDOW_SECONDS;
    const seconds = Math.min(window, Math.max(1, (Number(blocked) - Date.now()) / 1000));
    throw new RateLimitedError(
      `Too many failed authentications from this address (at most ${this.config.AUTH_FAILURES_PER_ADDRESS} per ${window} s)`,
      Number.isFinite(seconds) ? seconds : window,
    );
  }

  /** Refuses a blocked address (429) with a round trip of its own; 503 when Redis cannot be asked. */
  async check(address: string): Promise<void> {
    let blocked: string | null;
    try {
      blocked = await this.redis.client.get(this.keys.authBlocked(address));
    } catch (err) {
      throw new UnavailableError('Authentication cannot be checked right now; retry shortly.', 1, err);
    }
    this.refuseIfBlocked(blocked);
  }

  /**
   * Counts a failure of `address`; with `unknownKeyHash`, also remembers that hash as matching no
   * live key. Never throws: the caller answers 401 either way.
   */
  async record(address: string, reason: AuthFailureReason, unknownKeyHash?: string): Promise<void> {
    this.metrics.authFailures.inc({ reason });
    const keys = [this.keys.authFailures(address), this.keys.authBlocked(address)];
    if (unknownKeyHash) keys.push(this.keys.authUnknown(unknownKeyHash));
    try {
      await this.redis.client.eval(
        RECORD_FAILURE,
        keys.length,
        ...keys,
        this.config.AUTH_FAILURES_PER_ADDRESS,
        this.config.AUTH_FAILURE_WINDOW_SECONDS * 1000,
        this.config.AUTH_UNKNOWN_KEY_CACHE_SECONDS * 1000,
      );
    } catch (err) {
      this.logger.debug(`could not record a failed authentication: ${(err as Error).message}`);
    }
  }

  /** Forgets a negative-cache entry (a key with this hash was just created). */
  async forgetUnknown(keyHash: string): Promise<void> {
    await this.redis.client.del(this.keys.authUnknown(keyHash)).catch(() => undefined);
  }
}
