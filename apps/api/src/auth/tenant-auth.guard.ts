import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { RateLimitedError, UnauthorizedError } from '@tributary/contracts';
import { redisKeys } from '@tributary/queue';
import type { Tenant } from '@tributary/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyRepository } from '../keys/api-key.repository';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { bearerToken, hashSecret } from './api-key-secret';
import type { TenantPrincipal } from './authenticated-request';
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
    // Fast path: this process knows the key; the revocation check rides with the rate-limit charge.
    const local = this.principals.getLocal(hash);
    if (local) {
      const charged = await this.charge(local.tenant, reply, this.principals.revokedMarker(hash));
      if (charged !== 'unchecked') {
        if (charged === 'revoked') {
          this.principals.dropLocal(hash);
          throw new UnauthorizedError('Invalid or revoked API key');
        }
        return this.accept(request, local);
      }
      // Redis could not be asked whether the key was revoked: ask PostgreSQL instead.
      this.principals.dropLocal(hash);
    }
    let principal = await this.principals.get(hash);
    if (principal === 'revoked') throw new UnauthorizedError('Invalid or revoked API key');
    if (!principal) {
      const key = await this.apiKeys.findActiveByHash(hash);
      if (!key) throw new UnauthorizedError('Invalid or revoked API key');
      const { tenant, ...keyOnly } = key;
      principal = { tenant, key: keyOnly };
      await this.principals.set(hash, principal);
    }
    if (!local) await this.charge(principal.tenant, reply);
    return this.accept(request, principal);
  }

  private accept(request: FastifyRequest, principal: TenantPrincipal): true {
    request.principal = principal;
    this.usage.record(principal.key.id);
    return true;
  }

  /**
   * Charges one token from the tenant's bucket (429 when empty). With `revokedMarker`, the same
   * script first checks the key was not revoked. `unchecked` when Redis could not be asked: the
   * request goes through without a limit (the metric shows it) rather than every tenant failing.
   */
  private async charge(
    tenant: Pick<Tenant, 'id' | 'rateLimitPerSecond' | 'rateLimitBurst'>,
    reply: FastifyReply,
    revokedMarker?: string,
  ): Promise<'charged' | 'revoked' | 'unchecked'> {
    const { rateLimitPerSecond: ratePerSecond, rateLimitBurst: burst } = tenant;
    let result;
    try {
      result = await takeTokens(
        this.redis.client,
        this.keys.rateLimit(tenant.id),
        { ratePerSecond, burst },
        revokedMarker ? { refuseIf: revokedMarker } : {},
      );
    } catch (err) {
      this.metrics.rateLimitErrors.inc();
      this.logger.warn(`rate limit check failed, request let through: ${(err as Error).message}`);
      return 'unchecked';
    }
    if (result.refused) return 'revoked';
    void reply.header('x-ratelimit-limit', String(burst));
    void reply.header('x-ratelimit-remaining', String(Math.floor(result.remaining)));
    if (!result.allowed) {
      this.metrics.rateLimitRejections.inc();
      throw new RateLimitedError(
        `Rate limit of ${ratePerSecond} requests/s (burst ${burst}) exceeded`,
        result.retryAfterMs / 1000,
      );
    }
    return 'charged';
  }
}
