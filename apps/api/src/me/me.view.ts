import type { MeView } from '@tributary/contracts';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { toTenantView } from '../tenants/tenant.view';

/** The caller as `GET /v1/me` shows it: its tenant, and the key in use (never its secret or hash). */
export function toMeView({ tenant, key }: TenantPrincipal): MeView {
  return { tenant: toTenantView(tenant), key: { id: key.id, name: key.name, prefix: key.prefix } };
}
