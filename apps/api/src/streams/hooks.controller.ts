import {
  Body,
  CanActivate,
  Controller,
  createParamDecorator,
  ExecutionContext,
  HttpCode,
  Inject,
  Injectable,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { CONFIG, type Config } from '@tributary/config';
import { UnauthorizedError } from '@tributary/contracts';
import type { FastifyRequest } from 'fastify';
import { AuthFailures } from '../auth/auth-failures';
import { ApiErrors } from '../common/openapi';
import { ItemsBody } from '../common/request-body';
import { IngestService } from './ingest.service';
import { StreamRepository, type StreamWithCollection } from './stream.repository';
import { IngestItemsDto, IngestResultDto } from './streams.dto';
import { SIGNATURE_HEADER, SIGNATURE_SCHEME, TIMESTAMP_HEADER, verifyWebhook } from './webhook-signature';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received (webhook signatures are over these exact bytes). */
    rawBody?: string;
    webhookStream?: StreamWithCollection;
  }
}

/**
 * Authenticates a webhook by its stream's secret: HMAC-SHA256 over `<timestamp>.<raw body>`,
 * compared in constant time, within the replay window. Every failure is the same 401 to the caller
 * (an unknown stream looks like a bad signature), with the reason in the message, and counts
 * against the client address's failed-authentication limit (429 beyond it).
 */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  constructor(
    private readonly streams: StreamRepository,
    private readonly failures: AuthFailures,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { streamId?: string } }>>();
    const streamId = request.params.streamId ?? '';
    // Before the stream lookup: a refused address costs no database query.
    await this.failures.check(request.ip);
    const stream = UUID.test(streamId) ? await this.streams.findForWebhook(streamId) : null;
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const check = verifyWebhook(
      stream?.webhookSecret ?? 'no-such-stream',
      { timestamp: header(TIMESTAMP_HEADER), signature: header(SIGNATURE_HEADER) },
      request.rawBody ?? '',
      Math.floor(Date.now() / 1000),
      this.config.WEBHOOK_TOLERANCE_SECONDS,
    );
    if (!stream || !check.ok) {
      const reason = check.ok ? 'mismatch' : check.reason;
      const why = {
        missing: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header`,
        malformed: 'malformed signature headers',
        stale: `timestamp outside the ${this.config.WEBHOOK_TOLERANCE_SECONDS} s window`,
        mismatch: 'signature does not match',
      }[reason];
      await this.failures.record(request.ip, 'webhook_signature');
      throw new UnauthorizedError(`Webhook refused: ${why}. ${SIGNATURE_SCHEME}`);
    }
    request.webhookStream = stream;
    return true;
  }
}

/** The stream a verified webhook request is for. */
const HookStream = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const stream = ctx.switchToHttp().getRequest<FastifyRequest>().webhookStream;
  if (!stream) throw new Error('HookStream used without WebhookSignatureGuard');
  return stream;
});

@ApiTags('streams')
@Controller('v1/hooks')
export class HooksController {
  constructor(private readonly ingestion: IngestService) {}

  @Post(':streamId')
  @HttpCode(202)
  @ItemsBody()
  @UseGuards(WebhookSignatureGuard)
  @ApiOperation({
    summary: 'Webhook: send items signed with the stream’s secret',
    description: `Same body and answer as POST /v1/streams/{id}/items. ${SIGNATURE_SCHEME}`,
  })
  @ApiHeader({ name: TIMESTAMP_HEADER, required: true, description: 'Unix seconds' })
  @ApiHeader({ name: SIGNATURE_HEADER, required: true, description: 'v1=<hex HMAC-SHA256>' })
  @ZodResponse({
    status: 202,
    type: IngestResultDto,
    description: 'How many were new and how many duplicates',
  })
  @ApiErrors(400, 401, 408, 413, 415, 422, 429, 503)
  async receive(@Body() body: IngestItemsDto, @HookStream() stream: StreamWithCollection) {
    return this.ingestion.ingest(stream, body.items, 'webhook');
  }
}
