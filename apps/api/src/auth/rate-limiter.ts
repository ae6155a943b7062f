import { Injectable } from '@nestjs/common';
import { DomainError, UnavailableError } from '@tributary/contracts';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { takeTokens, type BucketLimits, type TakeResult } from './token-bucket';

export interface TakeOptions {
  /** Tokens this request costs. */
  cost: number;
  /** What a token stands for, in messages (`requests`, `items`). */
  unit: string;
  /** A Redis key whose existence refuses the request without charging (a revoked key's marker). */
  refuseIf?: string;
}

/**
 * The one rate limiter of the API: token buckets in Redis ({@link takeTokens}) charged with a cost,
 * used for tenant requests (the auth guard; a request costs by what it asks for) and for ingested
 * items. It fails closed: when Redis cannot be asked, the request is refused with 503 and
 * Retry-After instead of going through unlimited.
 */
@Injectable()
export class RateLimiter {
  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  /** Takes `cost` tokens, or says how long to wait (`allowed: false`); the caller words the 429. */
  async take(bucket: string, limits: BucketLimits, options: TakeOptions): Promise<TakeResult> {
    if (options.cost > limits.burst) {
      // It would never fit, so waiting cannot help: not a 429.
      throw new DomainError(
        'payload_too_large',
        `This request costs ${options.cost} ${options.unit} but at most ${limits.burst} fit in one burst; send less per request.`,
      );
    }
    try {
      return await takeTokens(this.redis.client, bucket, limits, {
        cost: options.cost,
        ...(options.refuseIf ? { refuseIf: options.refuseIf } : {}),
      });
    } catch (err) {
      this.metrics.rateLimitErrors.inc();
      // The filter logs the detail with the request id; the caller reads only the stable message.
      throw new UnavailableError('The rate limiter cannot be reached; retry shortly.', 1, err);
    }
  }
}
