import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { AdminAuth } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { IdParamDto } from '../tenants/tenant.dto';
import { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto } from './api-key.dto';
import { ApiKeyService } from './api-key.service';

@ApiTags('admin: API keys')
@AdminAuth()
@Controller('v1/admin')
export class KeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post('tenants/:id/keys')
  @ApiOperation({ summary: 'Create an API key for a tenant; the secret is returned once' })
  @ZodResponse({ status: 201, type: CreatedApiKeyDto, description: 'The new key, with its secret' })
  @ApiErrors(400, 404, 415, 422)
  create(@Param() params: IdParamDto, @Body() body: CreateApiKeyDto) {
    return this.keys.create(params.id, body.name);
  }

  @Get('tenants/:id/keys')
  @ApiOperation({ summary: "List a tenant's API keys (prefixes only)" })
  @ZodResponse({ status: 200, type: ApiKeyListDto, description: "The tenant's keys" })
  @ApiErrors(404, 422)
  list(@Param() params: IdParamDto) {
    return this.keys.list(params.id);
  }

  @Delete('keys/:id')
  @ApiOperation({ summary: 'Revoke an API key; it stops working at once' })
  @ZodResponse({ status: 200, type: ApiKeyDto, description: 'The revoked key' })
  @ApiErrors(404, 422)
  revoke(@Param() params: IdParamDto) {
    return this.keys.revoke(params.id);
  }
}
