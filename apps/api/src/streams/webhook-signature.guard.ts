import { createHash } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { ConflictError, UnauthorizedError, UnavailableError } from '@tributary/contracts';
import { StreamRepository } from '@tributary/db';
import { redisKeys } from '@tributary/redis';
import { AuthFailures } from '../auth/auth-failures';
import { RedisService } from '../redis/redis.module';
import type { WebhookRequest } from './webhook-request';
import { SIGNATURE_HEADER, signatureScheme, TIMESTAMP_HEADER, verifyWebhook } from './webhook-signature';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    const request = context.switchToHttp().getRequest<WebhookRequest>();
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
      throw new UnauthorizedError(
        `Webhook refused: ${why}. ${signatureScheme(this.config.WEBHOOK_TOLERANCE_SECONDS)}`,
      );
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
