import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { AdminAuth } from '../auth/auth.decorators';
import { AdminModelListDto } from './models.dto';
import { ModelsService } from './models.service';

@ApiTags('admin: models')
@AdminAuth()
@Controller('v1/admin/models')
export class AdminModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({
    summary: 'Every registered model version and its state on this deployment',
    description:
      'Manifest facts (`models/`), whether MODELS names it (`configured`), whether its artifacts under ' +
      'DATA_DIR/models match their pinned sha256 (`artifacts`; verified once per change of the files) and which ' +
      'live processes have it loaded (`loadedBy`: this API process, and workers by a heartbeat that lapses 30 s ' +
      'after a worker stops).',
  })
  @ZodResponse({ status: 200, type: AdminModelListDto, description: 'Every version, ordered by id' })
  list() {
    return this.models.registry();
  }
}
