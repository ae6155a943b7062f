import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import {
  createRolloutSchema,
  resourceNameSchema,
  rolloutListSchema,
  rolloutSchema,
  updateRolloutSchema,
} from '@tributary/contracts';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';
import { RolloutsService } from './rollouts.service';

export class CreateRolloutDto extends createZodDto(createRolloutSchema) {}
export class UpdateRolloutDto extends createZodDto(updateRolloutSchema) {}
export class RolloutDto extends createZodDto(rolloutSchema) {}
export class RolloutListDto extends createZodDto(rolloutListSchema) {}
class CollectionParamDto extends createZodDto(z.object({ name: resourceNameSchema }).strict()) {}
class RolloutParamDto extends createZodDto(z.object({ name: resourceNameSchema, id: z.uuid() }).strict()) {}

/** Who a tenant key's change is recorded as. */
export function keyActor(principal: TenantPrincipal): string {
  return `key:${principal.key.id}`;
}

@ApiTags('rollouts')
@TenantAuth()
@Controller('v1/collections/:name/rollouts')
export class RolloutsController {
  constructor(private readonly rollouts: RolloutsService) {}

  @Post()
  @ApiOperation({
    summary: 'Start a rollout to another model version',
    description:
      'The candidate is a new index, backfilled from the stored inputs while new items are written to both versions. ' +
      'Searches keep using the serving version until the candidate is ready and a canary share, shadow mode or a promotion says otherwise.',
  })
  @ZodResponse({ status: 201, type: RolloutDto, description: 'The rollout, backfilling' })
  @ApiErrors(400, 404, 409, 415, 422)
  create(
    @Principal() principal: TenantPrincipal,
    @Param() params: CollectionParamDto,
    @Body() body: CreateRolloutDto,
  ) {
    return this.rollouts.create(principal.tenant.id, params.name, body, keyActor(principal));
  }

  @Get()
  @ApiOperation({ summary: 'The collection’s rollouts, newest first' })
  @ZodResponse({ status: 200, type: RolloutListDto, description: 'Every rollout of the collection' })
  @ApiErrors(404, 422)
  list(@Principal() principal: TenantPrincipal, @Param() params: CollectionParamDto) {
    return this.rollouts.list(principal.tenant.id, params.name);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A rollout: state, backfill progress and ETA, comparison' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout' })
  @ApiErrors(404, 422)
  get(@Principal() principal: TenantPrincipal, @Param() params: RolloutParamDto) {
    return this.rollouts.get(principal.tenant.id, params.name, params.id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Move the canary share or switch between canary and shadow (once ready)' })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout' })
  @ApiErrors(400, 404, 409, 415, 422)
  update(
    @Principal() principal: TenantPrincipal,
    @Param() params: RolloutParamDto,
    @Body() body: UpdateRolloutDto,
  ) {
    return this.rollouts.update(principal.tenant.id, params.name, params.id, body, keyActor(principal));
  }

  @Post(':id/promote')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Make the candidate serve (atomic; the previous version is retained for a rollback)',
  })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout, promoted' })
  @ApiErrors(404, 409, 422)
  promote(@Principal() principal: TenantPrincipal, @Param() params: RolloutParamDto) {
    return this.rollouts.promote(principal.tenant.id, params.name, params.id, keyActor(principal));
  }

  @Post(':id/rollback')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Roll back: from any active state, or after a promotion while the previous version is retained',
  })
  @ZodResponse({ status: 200, type: RolloutDto, description: 'The rollout, rolled back' })
  @ApiErrors(404, 409, 422)
  rollback(@Principal() principal: TenantPrincipal, @Param() params: RolloutParamDto) {
    return this.rollouts.rollback(principal.tenant.id, params.name, params.id, keyActor(principal));
  }
}
