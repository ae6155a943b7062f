import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CONFIG, type Config } from '@tributary/config';
import { UnauthorizedError, UnavailableError } from '@tributary/contracts';
import { ApiKeyRepository } from '@tributary/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '../metrics/metrics.service';
import { bearerToken, hashSecret } from './api-key-secret';
import { AuthFailures } from './auth-failures';
import type { TenantPrincipal } from './authenticated-request';
import { KeyUsageRecorder } from './key-usage.recorder';
import { PrincipalCache } from './principal-cache';
import { RateLimiter, type RequestLimits } from './rate-limiter';
import { REQUEST_COST, type RequestCost } from './request-cost';

/**
 * Authenticates a tenant key by its hash (from the principal cache, else PostgreSQL; a revoked key
 * stops working at once), then charges the request's cost (1, or what the route's
 * {@link RequestCost} says) from the tenant's rate-limit bucket, in the same Redis round trip as
 * the revocation check when the key is known to this process. Fails closed: 503 when Redis cannot
 * be asked. A key not cached is looked up in PostgreSQL only when it is not in the negative cache
 * and the client address is not refused for failing too often ({@link AuthFailures}).
 */
@Injectable()
export class TenantAuthGuard implements CanActivate {
  constructor(
    private readonly apiKeys: ApiKeyRepository,
    private readonly usage: KeyUsageRecorder,
    private readonly principals: PrincipalCache,
    private readonly failures: AuthFailures,
    private readonly limiter: RateLimiter,
    private readonly metrics: MetricsService,
    private readonly reflector: Reflector,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedError();
    const hash = hashSecret(token);
    const cost = this.costOf(context, request);
    // Fast path: this process knows the key; the revocation check rides with the rate-limit charge.
    const local = this.principals.getLocal(hash);
    if (local) {
      if ((await this.charge(local.tenant, reply, cost, this.principals.revokedMarker(hash))) === 'revoked') {
        this.principals.dropLocal(hash);
        await this.failures.record(request.ip, 'revoked_key');
        throw new UnauthorizedError('Invalid or revoked API key');
      }
      return this.accept(request, local);
    }
    // One round trip: the cached principal, its revocation, and for a key not cached, whether it is
    // known to match nothing and whether this address failed too often.
    let found;
    try {
      found = await this.principals.lookup(hash, [
        this.failures.unknownMarker(hash),
        this.failures.blockedMarker(request.ip),
      ]);
    } catch (err) {
      this.metrics.rateLimitErrors.inc();
      // The detail goes to the log (by the filter, with the request id): Redis's error text is no
      // business of the caller's.
      throw new UnavailableError('Authentication cannot be checked right now; retry shortly.', 1, err);
    }
    let principal = found.principal;
    const [unknown, blocked] = found.also;
    if (principal === 'revoked') {
      await this.failures.record(request.ip, 'revoked_key');
      throw new UnauthorizedError('Invalid or revoked API key');
    }
    if (!principal) {
      // Keys this deployment verified recently (cached above) still work from a blocked address.
      this.failures.refuseIfBlocked(blocked);
      if (unknown) {
        await this.failures.record(request.ip, 'unknown_key_cached');
        throw new UnauthorizedError('Invalid or revoked API key');
      }
      const key = await this.apiKeys.findActiveByHash(hash);
      if (!key) {
        await this.failures.record(request.ip, 'unknown_key', hash);
        throw new UnauthorizedError('Invalid or revoked API key');
      }
      const { tenant, ...keyOnly } = key;
      principal = { tenant, key: keyOnly };
      await this.principals.set(hash, principal);
    }
    await this.charge(principal.tenant, reply, cost);
    return this.accept(request, principal);
  }

  private costOf(context: ExecutionContext, request: FastifyRequest): number {
    const cost = this.reflector.getAllAndOverride<RequestCost | undefined>(REQUEST_COST, [
      context.getHandler(),
      context.getClass(),
    ]);
    return cost ? Math.max(1, Math.ceil(cost(request.body, this.config))) : 1;
  }

  private accept(request: FastifyRequest, principal: TenantPrincipal): true {
    request.principal = principal;
    this.usage.record(principal.key.id);
    return true;
  }

  /**
   * Charges `cost` tokens from the tenant's bucket (429 when empty, with the `x-ratelimit-*`
   * headers either way). With `revokedMarker`, the same round trip first checks the key was not revoked.
   */
  private async charge(
    tenant: RequestLimits,
    reply: FastifyReply,
    cost: number,
    revokedMarker?: string,
  ): Promise<'charged' | 'revoked'> {
    const charge = await this.limiter.chargeRequest(tenant, cost, revokedMarker);
    if (charge.revoked) return 'revoked';
    void reply.header('x-ratelimit-limit', String(charge.limit));
    void reply.header('x-ratelimit-remaining', String(charge.remaining));
    if (charge.refusal) throw charge.refusal;
    return 'charged';
  }
}
