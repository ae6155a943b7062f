import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  ValidationError,
  type CreateTenant,
  type TenantList,
  type TenantView,
  type UpdateTenant,
} from '@tributary/contracts';
import { ModelCatalog } from '../models/model-catalog';
import { PrincipalCache } from '../auth/principal-cache';
import { AuditRepository, TenantRepository } from '@tributary/db';
import { toTenantView } from './tenant.view';

@Injectable()
export class TenantService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly audit: AuditRepository,
    private readonly catalog: ModelCatalog,
    private readonly principals: PrincipalCache,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  private checkModel(id: string | undefined): void {
    if (id !== undefined && !this.catalog.has(id)) {
      throw new ValidationError(`Unknown model ${id}; known: ${this.catalog.ids().join(', ')}`, [
        { path: 'defaultModel', message: `unknown model ${id}` },
      ]);
    }
  }

  async create(input: CreateTenant): Promise<TenantView> {
    this.checkModel(input.defaultModel);
    const tenant = await this.tenants.create(
      input.name,
      {
        rateLimitPerSecond: input.limits?.rateLimitPerSecond ?? this.config.DEFAULT_RATE_LIMIT_PER_SECOND,
        rateLimitBurst: input.limits?.rateLimitBurst ?? this.config.DEFAULT_RATE_LIMIT_BURST,
      },
      input.defaultModel ?? this.config.DEFAULT_MODEL,
    );
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
    this.checkModel(input.defaultModel);
    const changes = { ...input.limits, ...(input.defaultModel ? { defaultModel: input.defaultModel } : {}) };
    const tenant = await this.tenants.update(tenantId, changes);
    await this.principals.forget(await this.tenants.keyHashes(tenantId));
    // A tenant's default model and limits are control-plane changes (the admin key only).
    await this.audit.record({
      actor: 'admin',
      tenantId,
      action: 'tenant.update',
      target: `tenant:${tenantId}`,
      details: changes,
    });
    return toTenantView(tenant);
  }
}
