import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import {
  createFleetRolloutSchema,
  fleetRolloutListSchema,
  fleetRolloutSchema,
  resourceNameSchema,
} from '@tributary/contracts';
import { AdminAuth } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { CreateRolloutDto, RolloutDto, RolloutListDto, UpdateRolloutDto } from './rollouts.controller';
import { RolloutsService } from './rollouts.service';

class CreateFleetRolloutDto extends createZodDto(createFleetRolloutSchema) {}
class FleetRolloutDto extends createZodDto(fleetRolloutSchema) {}
class FleetRolloutListDto extends createZodDto(fleetRolloutListSchema) {}
class FleetParamDto extends createZodDto(z.object({ id: z.uuid() }).strict()) {}
class TenantCollectionParamDto extends createZodDto(
  z.object({ tenantId: z.uuid(), name: resourceNameSchema }).strict(),
) {}
class TenantRolloutParamDto extends createZodDto(
  z.object({ tenantId: z.uuid(), name: resourceNameSchema, id: z.uuid() }).strict(),
) {}

/** Operators: fleet rollouts across tenants, and any tenant's rollouts. */
@ApiTags('admin: rollouts')
@AdminAuth()
@Controller('v1/admin')
export class AdminRolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Post('rollouts')
  @ApiOperation({
    summary: 'Start the same rollout on every collection served by `from` (optionally some tenants)',
  })
  @ZodResponse({ status: 201, type: FleetRolloutDto, description: 'The fleet rollout and its progress' })
  @ApiErrors(400, 415, 422)
  createFleet(@Body() body: CreateFleetRolloutDto) {
    return this.rollouts.createFleet(body);
  }

  @Get('rollouts')
  @ApiOperation({ summary: 'Fleet rollouts with their progress, newest first' })
  @ZodResponse({ status: 200, type: FleetRolloutListDto, description: 'Fleet rollouts' })
  listFleets() {
    return this.rollouts.fleets();
  }

  @Get('rollouts/:id')
  @ApiOperation({ summary: 'One fleet rollout: every collection’s rollout and the progress' })
  @ZodResponse({ status: 200, type: FleetRolloutDto, description: 'The fleet rollout' })
  @ApiErrors(404, 422)
  fleet(@Param() params: FleetParamDto) {
    return this.rollouts.fleet(params.id);
  }

  @Post('tenants/:tenantId/collections/:name/rollouts')
  @ApiOperation({ summary: 'Start a rollout of a tenant’s collection (as the tenant could)' })
  @ZodResponse({ status: 201, type: RolloutDto, description: 'The rollout, backfilling' })
  @ApiErrors(400, 404, 409, 415, 422)
  async create(@Param() params: TenantCollectionParamDto, @Body() body: CreateRolloutDto) {
    return this.rollouts.create(
      await this.rollouts.tenantForAdmin(params.tenantId),
      params.name,
      body,
      'admin',
    );
  }

  @Get('tenants/:tenantId/collections/:name/rollouts')
  @ApiOperation({ summary: 'A tenant’s collection’s rollouts' })
  @ZodResponse({ status: 200, type: RolloutListDto, description: 'Every rollout of the collection' })
  @ApiErrors(404, 422)
  list(@Param() params: TenantCollectionParamDto) {
    return this.rollouts.list(params.tenantId, params.name);
  }

  @Get('tenants/:tenantId/collections/:name/rollouts/:id')
  @ApiOperation({ summary: 'A tenant’s rollout' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout' })
  @ApiErrors(404, 422)
  get(@Param() params: TenantRolloutParamDto) {
    return this.rollouts.get(params.tenantId, params.name, params.id);
  }

  @Patch('tenants/:tenantId/collections/:name/rollouts/:id')
  @ApiOperation({ summary: 'Move a tenant’s canary share or mode' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout' })
  @ApiErrors(400, 404, 409, 415, 422)
  update(@Param() params: TenantRolloutParamDto, @Body() body: UpdateRolloutDto) {
    return this.rollouts.update(params.tenantId, params.name, params.id, body, 'admin');
  }

  @Post('tenants/:tenantId/collections/:name/rollouts/:id/promote')
  @HttpCode(200)
  @ApiOperation({ summary: 'Promote a tenant’s rollout' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout, promoted' })
  @ApiErrors(404, 409, 422)
  promote(@Param() params: TenantRolloutParamDto) {
    return this.rollouts.promote(params.tenantId, params.name, params.id, 'admin');
  }

  @Post('tenants/:tenantId/collections/:name/rollouts/:id/rollback')
  @HttpCode(200)
  @ApiOperation({ summary: 'Roll back a tenant’s rollout' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout, rolled back' })
  @ApiErrors(404, 409, 422)
  rollback(@Param() params: TenantRolloutParamDto) {
    return this.rollouts.rollback(params.tenantId, params.name, params.id, 'admin');
  }
}
