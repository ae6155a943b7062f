import {
  applyDecorators,
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiErrors } from '../common/openapi';
import { AdminAuthGuard } from './admin-auth.guard';
import type { TenantPrincipal } from './authenticated-request';
import { REQUEST_COST, type RequestCost } from './request-cost';
import { TenantAuthGuard } from './tenant-auth.guard';

/** Admin-key routes. */
export function AdminAuth() {
  return applyDecorators(UseGuards(AdminAuthGuard), ApiBearerAuth('admin-key'), ApiErrors(401, 429, 503));
}

/**
 * Tenant-key routes: authenticated and rate limited per tenant, a request costing `cost` tokens
 * (default 1). 503 when the rate limit cannot be checked.
 */
export function TenantAuth(options: { cost?: RequestCost } = {}) {
  return applyDecorators(
    UseGuards(TenantAuthGuard),
    ...(options.cost ? [SetMetadata(REQUEST_COST, options.cost)] : []),
    ApiBearerAuth('tenant-key'),
    ApiErrors(401, 429, 503),
  );
}

/** The calling tenant and key, on a {@link TenantAuth} route. */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): TenantPrincipal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new Error('Principal used on a route without @TenantAuth()');
  return principal;
});
