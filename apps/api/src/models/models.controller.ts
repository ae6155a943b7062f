import { Controller, Get, Param } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { TenantAuth } from '../auth/auth.decorators';
import { ApiErrors } from '../common/openapi';
import { ModelDto, ModelIdParamDto, ModelListDto } from './models.dto';
import { ModelsService } from './models.service';

@ApiTags('tenant')
@TenantAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get()
  @ApiOperation({
    summary: 'List the model versions served here (OpenAI-compatible)',
    description:
      "Works with the official `openai` client's `models.list()`. Each entry adds `dimensions`, `maxTokens` and " +
      "`quantization`; `created` is when the version was registered (its manifest's `created`), so it never changes.",
  })
  @ZodResponse({ status: 200, type: ModelListDto, description: 'The served versions' })
  list() {
    return this.models.list();
  }

  @Get(':id')
  @ApiOperation({
    summary: 'Get one served model version (OpenAI-compatible)',
    description:
      '`models.retrieve(id)` of the `openai` client. A version not served here is a 404, as at OpenAI.',
  })
  @ZodResponse({ status: 200, type: ModelDto, description: 'The version' })
  @ApiErrors(404, 422)
  retrieve(@Param() params: ModelIdParamDto) {
    return this.models.retrieve(params.id);
  }
}
