import { Injectable } from '@nestjs/common';
import type { Tenant } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { isRecordNotFound, isUniqueViolation } from '../unique-violation';
import { ConflictError, NotFoundError, type TenantLimits } from '@tributary/contracts';

/** Tenants as the admin sees them. Tenant-owned data lives in tenant-scoped repositories. */
@Injectable()
export class TenantRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(name: string, limits: TenantLimits, defaultModel: string): Promise<Tenant> {
    try {
      return await this.prisma.tenant.create({
        data: {
          name,
          rateLimitPerSecond: limits.rateLimitPerSecond,
          rateLimitBurst: limits.rateLimitBurst,
          defaultModel,
        },
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`A tenant named "${name}" already exists`);
      throw err;
    }
  }

  /** One page, ordered by id; `cursor` is the last id of the previous page. */
  list(limit: number, cursor?: string): Promise<Tenant[]> {
    return this.prisma.tenant.findMany({
      orderBy: { id: 'asc' },
      take: limit,
      ...(cursor ? { where: { id: { gt: cursor } } } : {}),
    });
  }

  async get(tenantId: string): Promise<Tenant> {
    const tenant = await this.prisma.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant) throw new NotFoundError('Tenant', tenantId);
    return tenant;
  }

  /** Hashes of every key of the tenant (to drop cached principals when the tenant changes). */
  async keyHashes(tenantId: string): Promise<string[]> {
    const keys = await this.prisma.apiKey.findMany({ where: { tenantId }, select: { hash: true } });
    return keys.map((k) => k.hash);
  }

  async update(
    tenantId: string,
    changes: Partial<TenantLimits> & { defaultModel?: string },
  ): Promise<Tenant> {
    try {
      return await this.prisma.tenant.update({ where: { id: tenantId }, data: changes });
    } catch (err) {
      if (isRecordNotFound(err)) throw new NotFoundError('Tenant', tenantId);
      throw err;
    }
  }
}
