import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { Principal, TenantAuth } from '../auth/auth.decorators';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { ApiErrors } from '../common/openapi';
import { ItemsBody } from '../common/request-body';
import { FailuresService } from './failures.service';
import { IngestService } from './ingest.service';
import { NdjsonBody } from './ndjson-body.decorator';
import { NdjsonIngestService } from './ndjson-ingest.service';
import {
  CreatedStreamDto,
  CreateStreamDto,
  FailureListDto,
  FailuresQueryDto,
  IngestItemsDto,
  IngestResultDto,
  RetryFailuresDto,
  RotatedWebhookSecretDto,
  RotateWebhookSecretDto,
  StreamDto,
  StreamIdParamDto,
  StreamListDto,
} from './streams.dto';
import { StreamsService } from './streams.service';

@ApiTags('streams')
@TenantAuth()
@Controller('v1/streams')
export class StreamsController {
  constructor(
    private readonly streams: StreamsService,
    private readonly ingestion: IngestService,
    private readonly failures: FailuresService,
    private readonly ndjsonIngest: NdjsonIngestService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Create a stream',
    description: 'Also creates its collection when missing. The answer carries the webhook secret, once.',
  })
  @ZodResponse({ status: 201, type: CreatedStreamDto, description: 'The new stream and its webhook secret' })
  @ApiErrors(400, 409, 415, 422)
  create(@Principal() principal: TenantPrincipal, @Body() body: CreateStreamDto) {
    return this.streams.create(principal, body);
  }

  @Get()
  @ApiOperation({ summary: 'List streams with their counters' })
  @ZodResponse({ status: 200, type: StreamListDto, description: 'Every stream of the tenant' })
  list(@Principal() principal: TenantPrincipal) {
    return this.streams.list(principal);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A stream and its counters (accepted, embedded, failed, lag)' })
  @ZodResponse({ status: 200, type: StreamDto, description: 'The stream' })
  @ApiErrors(404, 422)
  get(@Principal() principal: TenantPrincipal, @Param() params: StreamIdParamDto) {
    return this.streams.get(principal, params.id);
  }

  @Post(':id/webhook::rotate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rotate the stream’s webhook secret',
    description:
      'Answers a new secret, once. The replaced secret stays valid beside it for `overlapSeconds` ' +
      '(default WEBHOOK_SECRET_OVERLAP_SECONDS), then only the new one is; rotating again during an overlap ' +
      'drops the oldest, so at most two are ever valid.',
  })
  @ZodResponse({ status: 200, type: RotatedWebhookSecretDto, description: 'The new secret' })
  @ApiErrors(400, 404, 409, 415, 422)
  rotateWebhookSecret(
    @Principal() principal: TenantPrincipal,
    @Param() params: StreamIdParamDto,
    @Body() body: RotateWebhookSecretDto,
  ) {
    return this.streams.rotateWebhookSecret(principal, params.id, body?.overlapSeconds);
  }

  @Post(':id/items')
  @HttpCode(202)
  @ItemsBody()
  @ApiOperation({
    summary: 'Send up to 1,000 items',
    description:
      'Answered 202 only once the new items are durably queued. The item `id` is the idempotency key: ' +
      're-sending an id never duplicates work, rows or vectors (it counts as a duplicate). Each item is at ' +
      'most `INGEST_ITEM_MAX_BYTES` (64 KiB) as JSON, and the body limit fits 1,000 such items.',
  })
  @ZodResponse({
    status: 202,
    type: IngestResultDto,
    description: 'How many were new and how many duplicates',
  })
  @ApiErrors(400, 404, 408, 413, 415, 422, 503)
  items(
    @Principal() principal: TenantPrincipal,
    @Param() params: StreamIdParamDto,
    @Body() body: IngestItemsDto,
  ) {
    return this.ingestion.ingestToStream(principal, params.id, body.items);
  }

  @Post(':id/items::ndjson')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send any number of items as NDJSON',
    description:
      'Content-Type `application/x-ndjson`: one item object per line, read incrementally (memory stays bounded ' +
      'whatever the length). Good lines are queued in batches as they arrive; bad lines (not JSON, not an item, ' +
      'over `INGEST_ITEM_MAX_BYTES`, a value the database cannot store) are reported with their line numbers ' +
      '(the first 100) and skipped. If the upload stops early (backpressure, `NDJSON_MAX_BYTES`, the upload ' +
      'timeouts), the error details say how many items were accepted and `lastLineAccepted`: every line up to ' +
      'it was taken, so send the rest from the next line (ids make repeats safe).',
  })
  @ApiConsumes('application/x-ndjson')
  @ApiBody({ schema: { type: 'string', example: '{"id":"1","text":"first"}\n{"id":"2","text":"second"}\n' } })
  @ZodResponse({ status: 202, type: IngestResultDto, description: 'Accepted, duplicates, and the bad lines' })
  @ApiErrors(400, 404, 408, 413, 415, 429, 503)
  ndjson(
    @Principal() principal: TenantPrincipal,
    @Param() params: StreamIdParamDto,
    @NdjsonBody() body: AsyncIterable<Buffer> | undefined,
  ) {
    return this.ndjsonIngest.ingestToStream(principal, params.id, body);
  }

  @Get(':id/failures')
  @ApiOperation({ summary: 'Items that failed for good, with the reason' })
  @ZodResponse({ status: 200, type: FailureListDto, description: 'One page of failed items' })
  @ApiErrors(404, 422)
  listFailures(
    @Principal() principal: TenantPrincipal,
    @Param() params: StreamIdParamDto,
    @Query() query: FailuresQueryDto,
  ) {
    return this.failures.list(principal.tenant.id, params.id, query.limit, query.cursor);
  }

  @Post(':id/failures/retry')
  @HttpCode(202)
  @ApiOperation({ summary: 'Queue failed items again (all, or the ids given)' })
  @ZodResponse({ status: 202, type: IngestResultDto, description: 'How many were queued again' })
  @ApiErrors(400, 404, 415, 422, 503)
  retry(
    @Principal() principal: TenantPrincipal,
    @Param() params: StreamIdParamDto,
    @Body() body: RetryFailuresDto,
  ) {
    return this.failures.retry(principal.tenant.id, params.id, body.ids);
  }
}
