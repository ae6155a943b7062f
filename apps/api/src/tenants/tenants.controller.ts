import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { AdminAuth } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import {
  CreateTenantDto,
  IdParamDto,
  ListTenantsQueryDto,
  TenantDto,
  TenantListDto,
  UpdateTenantDto,
} from './tenant.dto';
import { TenantService } from './tenant.service';

@ApiTags('admin: tenants')
@AdminAuth()
@Controller('v1/admin/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantService) {}

  @Post()
  @ApiOperation({ summary: 'Create a tenant' })
  @ZodResponse({ status: 201, type: TenantDto, description: 'The new tenant' })
  @ApiErrors(400, 409, 413, 415, 422)
  create(@Body() body: CreateTenantDto) {
    return this.tenants.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List tenants, a page at a time' })
  @ZodResponse({ status: 200, type: TenantListDto, description: 'One page of tenants' })
  @ApiErrors(422)
  list(@Query() query: ListTenantsQueryDto) {
    return this.tenants.list(query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a tenant' })
  @ZodResponse({ status: 200, type: TenantDto, description: 'The tenant' })
  @ApiErrors(404, 422)
  get(@Param() params: IdParamDto) {
    return this.tenants.get(params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a tenant's limits" })
  @ZodResponse({ status: 200, type: TenantDto, description: 'The updated tenant' })
  @ApiErrors(400, 404, 415, 422)
  update(@Param() params: IdParamDto, @Body() body: UpdateTenantDto) {
    return this.tenants.update(params.id, body);
  }
}
