import { Injectable } from '@nestjs/common';
import { NotFoundError, type ApiKeyView, type CreatedApiKeyView } from '@tributary/contracts';
import { generateSecret, hashSecret, secretPrefix } from '../auth/api-key-secret';
import { AuthFailures } from '../auth/auth-failures';
import { PrincipalCache } from '../auth/principal-cache';
import { ApiKeyRepository } from './api-key.repository';
import { toApiKeyView } from './api-key.view';

@Injectable()
export class ApiKeyService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly principals: PrincipalCache,
    private readonly failures: AuthFailures,
  ) {}

  /** Creates a key and returns its secret, the only time it is ever available. */
  async create(tenantId: string, name: string): Promise<CreatedApiKeyView> {
    const secret = generateSecret('tenant');
    const key = await this.keys.create(tenantId, {
      name,
      prefix: secretPrefix(secret),
      hash: hashSecret(secret),
    });
    if (!key) throw new NotFoundError('Tenant', tenantId);
    // A hash in the negative cache must not outlive the creation of a key with that hash.
    await this.failures.forgetUnknown(key.hash);
    return { ...toApiKeyView(key), secret };
  }

  async list(tenantId: string): Promise<ApiKeyView[]> {
    const keys = await this.keys.listForTenant(tenantId);
    if (!keys) throw new NotFoundError('Tenant', tenantId);
    return keys.map(toApiKeyView);
  }

  async getForTenant(tenantId: string, keyId: string): Promise<ApiKeyView> {
    const key = await this.keys.getForTenant(tenantId, keyId);
    if (!key) throw new NotFoundError('API key', keyId);
    return toApiKeyView(key);
  }

  async revoke(keyId: string): Promise<ApiKeyView> {
    const key = await this.keys.revoke(keyId, new Date());
    if (!key) throw new NotFoundError('API key', keyId);
    await this.principals.revoke(key.hash);
    return toApiKeyView(key);
  }
}
