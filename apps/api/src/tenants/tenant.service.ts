import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { CreateTenant, TenantList, TenantView, UpdateTenant } from '@tributary/contracts';
import { TenantRepository } from './tenant.repository';
import { toTenantView } from './tenant.view';

@Injectable()
export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async create(input: CreateTenant): Promise<TenantView> {
    const tenant = await this.tenants.create(input.name, {
      rateLimitPerSecond: input.limits?.rateLimitPerSecond ?? this.config.DEFAULT_RATE_LIMIT_PER_SECOND,
      rateLimitBurst: input.limits?.rateLimitBurst ?? this.config.DEFAULT_RATE_LIMIT_BURST,
    });
    return toTenantView(tenant);
  }

  async list(limit: number, cursor?: string): Promise<TenantList> {
    const page = await this.tenants.list(limit, cursor);
    return {
      data: page.map(toTenantView),
      nextCursor: page.length === limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  async get(tenantId: string): Promise<TenantView> {
    return toTenantView(await this.tenants.get(tenantId));
  }

  async update(tenantId: string, input: UpdateTenant): Promise<TenantView> {
    return toTenantView(await this.tenants.updateLimits(tenantId, input.limits));
  }
}
