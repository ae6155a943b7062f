import { Injectable, Logger } from '@nestjs/common';
import {
  NotFoundError,
  UnavailableError,
  type ApiKeyView,
  type CreatedApiKeyView,
} from '@tributary/contracts';
import { generateSecret, hashSecret, secretPrefix } from '../auth/api-key-secret';
import { AuthFailures } from '../auth/auth-failures';
import { PrincipalCache } from '../auth/principal-cache';
import { ApiKeyRepository } from '@tributary/db';
import { toApiKeyView } from './api-key.view';

@Injectable()
export class ApiKeyService {
  private readonly logger = new Logger('ApiKeys');

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

  /** A tenant's keys (prefixes only), as the list answer `{ data }`. */
  async list(tenantId: string): Promise<{ data: ApiKeyView[] }> {
    const keys = await this.keys.listForTenant(tenantId);
    if (!keys) throw new NotFoundError('Tenant', tenantId);
    return { data: keys.map(toApiKeyView) };
  }

  async getForTenant(tenantId: string, keyId: string): Promise<ApiKeyView> {
    const key = await this.keys.getForTenant(tenantId, keyId);
    if (!key) throw new NotFoundError('API key', keyId);
    return toApiKeyView(key);
  }

  /**
   * Revokes a key, effective at once in every process, or not at all (503). The Redis marker is
   * written first: every cached principal (this process's, another replica's, the shared entry) is
   * checked against it on each request, so from then on the key is refused. Only then is PostgreSQL
   * updated; if that fails the marker is taken back, so the key is not left refused by the caches
   * while the database says it is live (and would be again once the marker expired).
   */
  async revoke(keyId: string): Promise<ApiKeyView> {
    const key = await this.keys.findById(keyId);
    if (!key) throw new NotFoundError('API key', keyId);
    if (key.revokedAt) return toApiKeyView(key);
    try {
      await this.principals.revoke(key.hash);
    } catch (err) {
      this.logger.warn(`revocation marker for key ${keyId} not written: ${(err as Error).message}`);
      throw new UnavailableError('Key not revoked: the revocation could not be recorded; retry shortly.', 1);
    }
    let revoked: ApiKeyView | undefined;
    try {
      const row = await this.keys.revoke(keyId, new Date());
      revoked = row && toApiKeyView(row);
    } catch (err) {
      this.logger.warn(`revocation of key ${keyId} not stored: ${(err as Error).message}`);
      await this.principals.unrevoke(key.hash).catch((undoErr: Error) => {
        this.logger.error(
          `key ${keyId}: revocation marker left in Redis, database not updated: ${undoErr.message}`,
        );
      });
      throw new UnavailableError('Key not revoked: the revocation could not be stored; retry shortly.', 1);
    }
    if (!revoked) throw new NotFoundError('API key', keyId);
    return revoked;
  }
}
