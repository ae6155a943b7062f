import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';
import { IdParamDto } from '../tenants/tenant.dto';
import { ApiKeyDto, ApiKeyListDto } from './api-key.dto';
import { ApiKeyService } from './api-key.service';

/** A tenant's view of its own keys (prefixes only; secrets are never shown again). */
@ApiTags('tenant')
@TenantAuth()
@Controller('v1/keys')
export class OwnKeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Get()
  @ApiOperation({ summary: "The calling tenant's API keys" })
  @ZodResponse({ status: 200, type: ApiKeyListDto, description: 'Keys of the caller' })
  list(@Principal() principal: TenantPrincipal) {
    return this.keys.list(principal.tenant.id);
  }

  @Get(':id')
  @ApiOperation({ summary: "One of the calling tenant's API keys" })
  @ZodResponse({ status: 200, type: ApiKeyDto, description: 'The key' })
  @ApiErrors(404, 422)
  get(@Principal() principal: TenantPrincipal, @Param() params: IdParamDto) {
    return this.keys.getForTenant(principal.tenant.id, params.id);
  }
}
