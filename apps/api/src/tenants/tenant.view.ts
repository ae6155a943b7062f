import type { Tenant } from '@tributary/db';
import type { TenantView } from '@tributary/contracts';

export function toTenantView(tenant: Tenant): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    limits: { rateLimitPerSecond: tenant.rateLimitPerSecond, rateLimitBurst: tenant.rateLimitBurst },
    defaultModel: tenant.defaultModel,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
  };
}
