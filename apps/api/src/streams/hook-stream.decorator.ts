import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { WebhookRequest } from './webhook-request';

/** The stream a verified webhook request is for. */
export const HookStream = createParamDecorator((_: unknown, ctx: ExecutionContext) => {
  const stream = ctx.switchToHttp().getRequest<WebhookRequest>().webhookStream;
  if (!stream) throw new Error('HookStream used without WebhookSignatureGuard');
  return stream;
});
