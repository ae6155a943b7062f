import type { ApiKey } from '@tributary/db';
import type { ApiKeyView } from '@tributary/contracts';

export function toApiKeyView(key: ApiKey): ApiKeyView {
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
