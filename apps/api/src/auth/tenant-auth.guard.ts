import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { RateLimitedError, UnauthorizedError } from '@tributary/contracts';
import { redisKeys } from '@tributary/queue';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyRepository } from '../keys/api-key.repository';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { bearerToken, hashSecret } from './api-key-secret';
import './authenticated-request';
import { KeyUsageRecorder } from './key-usage.recorder';
import { PrincipalCache } from './principal-cache';
import { takeTokens } from './token-bucket';

/**
 * Authenticates a tenant key by its hash (from the principal cache, else PostgreSQL; a revoked key
 * stops working at once), then charges one token from the tenant's rate-limit bucket.
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  private readonly logger = new Logger('TenantAuth');
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly apiKeys: ApiKeyRepository,
    private readonly usage: KeyUsageRecorder,
    private readonly principals: PrincipalCache,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedError();
    const hash = hashSecret(token);
    let principal = await this.principals.get(hash);
    if (principal === 'revoked') throw new UnauthorizedError('Invalid or revoked API key');
    if (!principal) {
      const key = await this.apiKeys.findActiveByHash(hash);
      if (!key) throw new UnauthorizedError('Invalid or revoked API key');
      const { tenant, ...keyOnly } = key;
      principal = { tenant, key: keyOnly };
      await this.principals.set(hash, principal);
    }
    request.principal = principal;
    const { tenant, key } = principal;
    await this.chargeRateLimit(tenant.id, tenant.rateLimitPerSecond, tenant.rateLimitBurst, reply);
    this.usage.record(key.id);
    return true;
  }

  private async chargeRateLimit(tenantId: string, ratePerSecond: number, burst: number, reply: FastifyReply) {
    let result;
    try {
      result = await takeTokens(this.redis.client, this.keys.rateLimit(tenantId), { ratePerSecond, burst });
    } catch (err) {
      // Redis away: serving without a limit beats refusing every tenant; the metric shows it.
      this.metrics.rateLimitErrors.inc();
      this.logger.warn(`rate limit check failed, request let through: ${(err as Error).message}`);
      return;
    }
    void reply.header('x-ratelimit-limit', String(burst));
    void reply.header('x-ratelimit-remaining', String(Math.floor(result.remaining)));
    if (!result.allowed) {
      this.metrics.rateLimitRejections.inc();
      throw new RateLimitedError(
        `Rate limit of ${ratePerSecond} requests/s (burst ${burst}) exceeded`,
        result.retryAfterMs / 1000,
      );
    }
  }
}
