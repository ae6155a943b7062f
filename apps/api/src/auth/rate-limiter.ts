import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { DomainError, RateLimitedError, UnavailableError } from '@tributary/contracts';
import type { Tenant } from '@tributary/db';
import { redisKeys } from '@tributary/redis';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { takeTokens, type BucketLimits, type TakeResult } from './token-bucket';

/** What a tenant's request limits come from (its row). */
export type RequestLimits = Pick<Tenant, 'id' | 'rateLimitPerSecond' | 'rateLimitBurst'>;

/** The outcome of charging a request that was not refused for its key. */
export interface RequestCharged {
  revoked: false;
  /** The bucket's capacity and what is left of it, for the `x-ratelimit-*` headers. */
  limit: number;
  remaining: number;
  /** Set when the bucket was empty: the 429 to answer (after the headers). */
  refusal?: RateLimitedError;
}

/** A request's charge: refused for its revoked key (nothing charged), or charged (or not) by its bucket. */
export type RequestCharge = { revoked: true } | RequestCharged;

/**
 * The one rate limiter of the API: token buckets in Redis ({@link takeTokens}), one per tenant for
 * requests (the tenant's own rate and burst; a request costs by what it asks for) and one per
 * tenant for ingested items (INGEST_TENANT_ITEMS_PER_SECOND and _BURST). It owns the buckets'
 * keys, their limits, the 429's wording and the rejection metrics. It fails closed: when Redis
 * cannot be asked, the request is refused with 503 and Retry-After instead of going through
 * unlimited.
 */
@Injectable()
export class RateLimiter {
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  /**
   * Charges `cost` request tokens from the tenant's bucket. With `revokedMarker` (a key known to
   * this process), the same round trip first checks that the key was not revoked, and charges
   * nothing if it was.
   */
  async chargeRequest(tenant: RequestLimits, cost: number, revokedMarker?: string): Promise<RequestCharge> {
    const { rateLimitPerSecond: ratePerSecond, rateLimitBurst: burst } = tenant;
    const result = await this.take(
      this.keys.rateLimit(tenant.id),
      { ratePerSecond, burst },
      cost,
      'request tokens',
      revokedMarker,
    );
    if (result.refused) return { revoked: true };
    const charge: RequestCharged = { revoked: false, limit: burst, remaining: Math.floor(result.remaining) };
    if (!result.allowed) {
      this.metrics.rateLimitRejections.inc();
      charge.refusal = new RateLimitedError(
        `Rate limit of ${ratePerSecond} tokens/s (burst ${burst}) exceeded; this request costs ${cost}`,
        result.retryAfterMs / 1000,
      );
    }
    return charge;
  }

  /** Most items one {@link chargeItems} can ever take: the item bucket's burst. */
  get maxItemsPerCharge(): number {
    return this.config.INGEST_TENANT_ITEMS_BURST;
  }

  /**
   * Charges `count` items from the tenant's ingest bucket; 429 with Retry-After when it is empty,
   * 413 when `count` is over {@link maxItemsPerCharge} (waiting could never help).
   */
  async chargeItems(tenantId: string, count: number): Promise<void> {
    const ratePerSecond = this.config.INGEST_TENANT_ITEMS_PER_SECOND;
    const burst = this.config.INGEST_TENANT_ITEMS_BURST;
    const result = await this.take(this.keys.ingestRate(tenantId), { ratePerSecond, burst }, count, 'items');
    if (!result.allowed) {
      this.metrics.ingestRejections.inc({ reason: 'tenant_rate' });
      throw new RateLimitedError(
        `Ingest rate of ${ratePerSecond} items/s (burst ${burst}) exceeded`,
        result.retryAfterMs / 1000,
      );
    }
  }

  /** Takes `cost` tokens, or says how long to wait (`allowed: false`). */
  private async take(
    bucket: string,
    limits: BucketLimits,
    cost: number,
    unit: string,
    refuseIf?: string,
  ): Promise<TakeResult> {
    if (cost > limits.burst) {
      // It would never fit, so waiting cannot help: not a 429.
      throw new DomainError(
        'payload_too_large',
        `This request costs ${cost} ${unit} but at most ${limits.burst} fit in one burst; send less per request.`,
      );
    }
    try {
      return await takeTokens(this.redis.client, bucket, limits, { cost, ...(refuseIf ? { refuseIf } : {}) });
    } catch (err) {
      this.metrics.rateLimitErrors.inc();
      // The filter logs the detail with the request id; the caller reads only the stable message.
      throw new UnavailableError('The rate limiter cannot be reached; retry shortly.', 1, err);
    }
  }
}
