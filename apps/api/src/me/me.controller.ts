import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { meSchema, type MeView } from '@tributary/contracts';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { toMeView } from './me.view';

class MeDto extends createZodDto(meSchema) {}

@ApiTags('tenant')
@TenantAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @ApiOperation({ summary: 'The calling tenant, its limits and the key in use' })
  @ZodResponse({ status: 200, type: MeDto, description: 'The caller' })
  me(@Principal() principal: TenantPrincipal): MeView {
    return toMeView(principal);
  }
}
