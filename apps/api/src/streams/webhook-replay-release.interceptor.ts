import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { catchError, from, mergeMap, throwError, type Observable } from 'rxjs';
import { RedisService } from '../redis/redis.module';
import type { WebhookRequest } from './webhook-request';

/**
 * A delivery that was verified but then failed (bad body, backpressure, Redis away) took nothing:
 * its replay mark is taken back so the sender may retry it unchanged.
 */
@Injectable()
export class WebhookReplayRelease implements NestInterceptor {
  constructor(private readonly redis: RedisService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<WebhookRequest>();
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
