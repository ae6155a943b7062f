import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createEmbeddingsSchema, embeddingsResponseSchema } from '@tributary/contracts';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import type { RequestCost } from '../auth/request-cost';
import { ApiErrors } from '../common/openapi';
import { EmbeddingsService } from './embeddings.service';

class CreateEmbeddingsDto extends createZodDto(createEmbeddingsSchema) {}

/** One rate-limit token per EMBEDDINGS_INPUTS_PER_TOKEN inputs (counted up to the most accepted). */
export const embeddingsRequestCost: RequestCost = (body, config) => {
  const input = (body as { input?: unknown } | undefined)?.input;
  const inputs = Array.isArray(input) ? Math.min(input.length, config.EMBEDDINGS_MAX_INPUTS) : 1;
  return Math.ceil(inputs / config.EMBEDDINGS_INPUTS_PER_TOKEN);
};
class EmbeddingsResponseDto extends createZodDto(embeddingsResponseSchema) {}

@ApiTags('tenant')
@TenantAuth({ cost: embeddingsRequestCost })
@Controller('v1/embeddings')
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Create embeddings (OpenAI-compatible)',
    description:
      'Works with the official `openai` client (baseURL `<host>/v1`, a tenant key as apiKey). Inputs longer than the ' +
      "model's token limit are truncated and listed in `x-tributary-truncated`. When the inference queue is full, " +
      'requests whose inputs are all cached are still answered; others get 429 with Retry-After.',
  })
  // The response is written without re-validating every float (that would double the work); its schema is documented here.
  @ApiOkResponse({ type: EmbeddingsResponseDto, description: 'One embedding per input, in input order' })
  @ApiHeader({ name: 'x-tributary-cache', description: 'hit | partial | miss', required: false })
  @ApiErrors(400, 413, 415, 422, 503)
  async create(
    @Principal() principal: TenantPrincipal,
    @Body() body: CreateEmbeddingsDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const result = await this.embeddings.create(principal, body);
    void reply.header('x-tributary-cache', result.cache);
    if (result.truncated.length > 0) void reply.header('x-tributary-truncated', result.truncated.join(','));
    return result.body;
  }
}
