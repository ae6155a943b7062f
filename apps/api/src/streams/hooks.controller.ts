import { Body, Controller, HttpCode, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import type { StreamWithCollection } from '@tributary/db';
import { ApiErrors } from '../common/openapi';
import { ItemsBody } from '../common/request-body';
import { HookStream } from './hook-stream.decorator';
import { IngestService } from './ingest.service';
import { IngestItemsDto, IngestResultDto } from './streams.dto';
import { WebhookReplayRelease } from './webhook-replay-release.interceptor';
import { WebhookSignatureGuard } from './webhook-signature.guard';
import { ApiSignedWebhook } from './webhook-signature.openapi';

@ApiTags('streams')
@Controller('v1/hooks')
export class HooksController {
  constructor(private readonly ingestion: IngestService) {}

  @Post(':streamId')
  @HttpCode(202)
  @ItemsBody()
  @UseGuards(WebhookSignatureGuard)
  @UseInterceptors(WebhookReplayRelease)
  @ApiSignedWebhook({
    summary: 'Webhook: send items signed with the stream’s secret',
    description: 'Same body and answer as POST /v1/streams/{id}/items.',
  })
  @ZodResponse({
    status: 202,
    type: IngestResultDto,
    description: 'How many were new and how many duplicates',
  })
  @ApiErrors(400, 401, 408, 409, 413, 415, 422, 429, 503)
  receive(@Body() body: IngestItemsDto, @HookStream() stream: StreamWithCollection) {
    return this.ingestion.ingest(stream, body.items, 'webhook');
  }
}
