import { Injectable } from '@nestjs/common';
import type { ApiKey, Tenant } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export interface NewApiKey {
  name: string;
  prefix: string;
  hash: string;
}

/** API keys. Tenant-scoped methods take the tenant id, so a key is never read across tenants. */
@Injectable()
export class ApiKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates a key for an existing tenant; undefined when the tenant does not exist. */
  async create(tenantId: string, key: NewApiKey): Promise<ApiKey | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const tenant = await tx.tenant.findUnique({ where: { id: tenantId }, select: { id: true } });
      if (!tenant) return undefined;
      return tx.apiKey.create({ data: { tenantId, ...key } });
    });
  }

  /** The tenant's keys, oldest first; undefined when the tenant does not exist. */
  async listForTenant(tenantId: string): Promise<ApiKey[] | undefined> {
    const tenant = await this.prisma.tenant.findUnique({
      where: { id: tenantId },
      select: { apiKeys: { orderBy: { createdAt: 'asc' } } },
    });
    return tenant?.apiKeys;
  }

  /** One of the tenant's own keys; another tenant's key is indistinguishable from a missing one. */
  async getForTenant(tenantId: string, keyId: string): Promise<ApiKey | undefined> {
    return (await this.prisma.apiKey.findFirst({ where: { id: keyId, tenantId } })) ?? undefined;
  }

  /** Any key by id (admin use: revocation). */
  async findById(keyId: string): Promise<ApiKey | undefined> {
    return (await this.prisma.apiKey.findUnique({ where: { id: keyId } })) ?? undefined;
  }

  /** Revokes a key; undefined when there is no such key. Revoking twice keeps the first time. */
  async revoke(keyId: string, at: Date): Promise<ApiKey | undefined> {
    await this.prisma.apiKey.updateMany({ where: { id: keyId, revokedAt: null }, data: { revokedAt: at } });
    return (await this.prisma.apiKey.findUnique({ where: { id: keyId } })) ?? undefined;
  }

  /** The live key with this hash, with its tenant: the lookup behind every tenant request. */
  async findActiveByHash(hash: string): Promise<(ApiKey & { tenant: Tenant }) | undefined> {
    const key = await this.prisma.apiKey.findUnique({ where: { hash }, include: { tenant: true } });
    return key && key.revokedAt === null ? key : undefined;
  }
}
