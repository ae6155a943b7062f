import type { ApiKey, Tenant } from '@tributary/db';

/** What the tenant guard attaches to a request. */
export interface TenantPrincipal {
  tenant: Tenant;
  key: ApiKey;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TenantPrincipal;
  }
}
