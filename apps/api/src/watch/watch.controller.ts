import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';
import {
  createDriftReportSchema,
  driftReportAcceptedSchema,
  driftReportListSchema,
  driftReportSchema,
  driftSettingsSchema,
  driftSettingsViewSchema,
  resourceNameSchema,
  selfCheckListSchema,
  trendsQuerySchema,
  trendsSchema,
} from '@tributary/contracts';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';
import { WatchService } from './watch.service';

export class CreateDriftReportDto extends createZodDto(createDriftReportSchema) {}
export class DriftReportAcceptedDto extends createZodDto(driftReportAcceptedSchema) {}
export class DriftReportDto extends createZodDto(driftReportSchema) {}
export class DriftReportListDto extends createZodDto(driftReportListSchema) {}
export class DriftSettingsDto extends createZodDto(driftSettingsSchema) {}
export class DriftSettingsViewDto extends createZodDto(driftSettingsViewSchema) {}
export class SelfCheckListDto extends createZodDto(selfCheckListSchema) {}
export class TrendsQueryDto extends createZodDto(trendsQuerySchema) {}
export class TrendsDto extends createZodDto(trendsSchema) {}
class CollectionParamDto extends createZodDto(z.object({ name: resourceNameSchema }).strict()) {}
class ReportParamDto extends createZodDto(z.object({ name: resourceNameSchema, id: z.uuid() }).strict()) {}

@ApiTags('quality watch')
@TenantAuth()
@Controller('v1/collections/:name')
export class WatchController {
  constructor(private readonly watch: WatchService) {}

  @Post('reports/drift')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Compare a current window of the collection with a reference window for drift',
    description:
      'Windows are half-open `[from, to)` over event time (an item’s `timestamp`, else when it was accepted). ' +
      'Each window is sampled (seeded) and compared by Evidently’s embedding-drift methods with their defaults; ' +
      'a worker computes the report: poll `GET .../reports/drift/{id}`.',
  })
  @ZodResponse({ status: 202, type: DriftReportAcceptedDto, description: 'The report, running' })
  @ApiErrors(400, 404, 415, 422)
  createDriftReport(
    @Principal() principal: TenantPrincipal,
    @Param() params: CollectionParamDto,
    @Body() body: CreateDriftReportDto,
  ) {
    return this.watch.createDriftReport(principal.tenant.id, params.name, body);
  }

  @Get('reports/drift')
  @ApiOperation({ summary: 'The collection’s drift reports, scheduled and on demand, newest first' })
  @ZodResponse({ status: 200, type: DriftReportListDto, description: 'Up to 100 reports' })
  @ApiErrors(404, 422)
  driftReports(@Principal() principal: TenantPrincipal, @Param() params: CollectionParamDto) {
    return this.watch.driftReports(principal.tenant.id, params.name);
  }

  @Get('reports/drift-settings')
  @ApiOperation({ summary: 'The collection’s pinned reference window and verdict method' })
  @ZodResponse({ status: 200, type: DriftSettingsViewDto, description: 'The settings' })
  @ApiErrors(404, 422)
  driftSettings(@Principal() principal: TenantPrincipal, @Param() params: CollectionParamDto) {
    return this.watch.driftSettings(principal.tenant.id, params.name);
  }

  @Patch('reports/drift-settings')
  @ApiOperation({
    summary:
      'Pin a reference window for scheduled reports (null: the previous window), or pick the verdict method',
  })
  @ZodResponse({ status: 200, type: DriftSettingsViewDto, description: 'The settings' })
  @ApiErrors(400, 404, 415, 422)
  setDriftSettings(
    @Principal() principal: TenantPrincipal,
    @Param() params: CollectionParamDto,
    @Body() body: DriftSettingsDto,
  ) {
    return this.watch.setDriftSettings(principal.tenant.id, params.name, body);
  }

  @Get('reports/drift/:id')
  @ApiOperation({ summary: 'A drift report: state, verdict, and each method’s value, threshold and verdict' })
  @ZodResponse({ status: 200, type: DriftReportDto, description: 'The report' })
  @ApiErrors(404, 422)
  driftReport(@Principal() principal: TenantPrincipal, @Param() params: ReportParamDto) {
    return this.watch.driftReport(principal.tenant.id, params.name, params.id);
  }

  @Get('reports/self-check')
  @ApiOperation({
    summary:
      'The pipeline self-checks: stored inputs re-embedded and compared with their stored vectors, newest first',
  })
  @ZodResponse({ status: 200, type: SelfCheckListDto, description: 'Up to 100 self-checks' })
  @ApiErrors(404, 422)
  selfChecks(@Principal() principal: TenantPrincipal, @Param() params: CollectionParamDto) {
    return this.watch.selfChecks(principal.tenant.id, params.name);
  }

  @Get('trends')
  @ApiOperation({
    summary: 'Emerging topics in a window of event time, highest score first',
    description:
      'Topics are kept incrementally as items are embedded; a topic is emerging when its count in the window ' +
      'is well above its own baseline. The window is widened to the tracker’s buckets (5 minutes).',
  })
  @ZodResponse({ status: 200, type: TrendsDto, description: 'The topics' })
  @ApiErrors(404, 422)
  trends(
    @Principal() principal: TenantPrincipal,
    @Param() params: CollectionParamDto,
    @Query() query: TrendsQueryDto,
  ) {
    return this.watch.trends(principal.tenant.id, params.name, query);
  }
}
