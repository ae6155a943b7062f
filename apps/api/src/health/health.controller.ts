import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/openapi';
import { HealthService } from './health.service';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is running' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return this.health.live();
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: the database and Redis answer, the models are loaded, and the process is not shutting down',
  })
  @ApiOkResponse({
    schema: {
      example: { status: 'ok', checks: { database: 'ok', redis: 'ok', models: 'ok', vectors: 'ok' } },
    },
  })
  @ApiErrors(503)
  ready() {
    return this.health.ready();
  }
}
