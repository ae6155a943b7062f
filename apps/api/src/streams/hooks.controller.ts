import { createHash } from 'node:crypto';
import {
  Body,
  CallHandler,
  CanActivate,
  Controller,
  createParamDecorator,
  ExecutionContext,
  HttpCode,
  Inject,
  Injectable,
  Logger,
  NestInterceptor,
  Post,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ZodResponse } from 'nestjs-zod';
import { CONFIG, type Config } from '@tributary/config';
import { ConflictError, UnauthorizedError, UnavailableError } from '@tributary/contracts';
import { redisKeys } from '@tributary/redis';
import type { FastifyRequest } from 'fastify';
import { catchError, from, mergeMap, throwError, type Observable } from 'rxjs';
import { AuthFailures } from '../auth/auth-failures';
import { ApiErrors } from '../common/openapi';
import { RedisService } from '../redis/redis.module';
import { ItemsBody } from '../common/request-body';
import { IngestService } from './ingest.service';
import { StreamRepository, type StreamWithCollection } from '@tributary/db';
import { IngestItemsDto, IngestResultDto } from './streams.dto';
import { SIGNATURE_HEADER, SIGNATURE_SCHEME, TIMESTAMP_HEADER, verifyWebhook } from './webhook-signature';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received (webhook signatures are over these exact bytes). */
    rawBody?: string;
    webhookStream?: StreamWithCollection;
    /** The replay mark this request's signature set (taken back if the request then fails). */
    webhookReplayMark?: string;
  }
}

/**
 * Authenticates a webhook by its stream's secret (either one while a rotation overlaps):
 * HMAC-SHA256 over `<timestamp>.<raw body>`, compared in constant time, within the tolerance
 * window. Every failure is the same 401 to the caller (an unknown stream looks like a bad
 * signature), with the reason in the message, and counts against the client address's
 * failed-authentication limit (429 beyond it). A valid signature is then marked as seen in Redis
 * until its timestamp leaves the window (SET NX, so every replica agrees); one already marked is a
 * replay: 409. Redis unreachable: 503 (no delivery is taken unchecked).
 */
@Injectable()
export class WebhookSignatureGuard implements CanActivate {
  private readonly logger = new Logger('Webhooks');
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly streams: StreamRepository,
    private readonly failures: AuthFailures,
    private readonly redis: RedisService,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    this.keys = redisKeys(config.REDIS_PREFIX);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest<{ Params: { streamId?: string } }>>();
    const streamId = request.params.streamId ?? '';
    // Before the stream lookup: a refused address costs no database query.
    await this.failures.check(request.ip);
    const found = UUID.test(streamId) ? await this.streams.findForWebhook(streamId) : null;
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const now = Math.floor(Date.now() / 1000);
    const timestamp = header(TIMESTAMP_HEADER);
    const check = verifyWebhook(
      found?.secrets ?? 'no-such-stream',
      { timestamp, signature: header(SIGNATURE_HEADER) },
      request.rawBody ?? '',
      now,
      this.config.WEBHOOK_TOLERANCE_SECONDS,
    );
    if (!found || !check.ok) {
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
    request.webhookReplayMark = await this.markSeen(
      found.stream.id,
      Number(timestamp),
      request.rawBody ?? '',
      now,
    );
    request.webhookStream = found.stream;
    return true;
  }

  /** Marks a verified signature as seen for as long as its timestamp is accepted; 409 if it was. */
  private async markSeen(streamId: string, timestamp: number, body: string, now: number): Promise<string> {
    const tolerance = this.config.WEBHOOK_TOLERANCE_SECONDS;
    const digest = createHash('sha256').update(`${timestamp}.`).update(body).digest('hex');
    const mark = this.keys.webhookSeen(streamId, digest);
    let fresh: string | null;
    try {
      fresh = await this.redis.client.set(
        mark,
        '1',
        'EX',
        Math.max(1, timestamp + tolerance - now + 1),
        'NX',
      );
    } catch (err) {
      this.logger.warn(`replay check failed, webhook refused: ${(err as Error).message}`);
      throw new UnavailableError('The webhook cannot be checked for replay right now; retry shortly.', 1);
    }
    if (fresh !== 'OK') {
      throw new ConflictError(
        `Webhook refused: this signature was already accepted (a replay) and stays refused while its timestamp is within the ${tolerance} s window. ` +
          `Sign each delivery with its own ${TIMESTAMP_HEADER}; re-sending items is safe, their ids make it idempotent.`,
      );
    }
    return mark;
  }
}

/**
 * A delivery that was verified but then failed (bad body, backpressure, Redis away) took nothing:
 * its replay mark is taken back so the sender may retry it unchanged.
 */
@Injectable()
export class WebhookReplayRelease implements NestInterceptor {
  constructor(private readonly redis: RedisService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return next
      .handle()
      .pipe(
        catchError((err: unknown) =>
          from(
            request.webhookReplayMark
              ? this.redis.client.del(request.webhookReplayMark).catch(() => 0)
              : Promise.resolve(0),
          ).pipe(mergeMap(() => throwError(() => err))),
        ),
      );
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
  @UseInterceptors(WebhookReplayRelease)
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
  @ApiErrors(400, 401, 408, 409, 413, 415, 422, 429, 503)
  async receive(@Body() body: IngestItemsDto, @HookStream() stream: StreamWithCollection) {
    return this.ingestion.ingest(stream, body.items, 'webhook');
  }
}
