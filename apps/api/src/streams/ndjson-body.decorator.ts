import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/**
 * The body of an NDJSON route as a byte stream (the NDJSON content-type parser leaves it unread),
 * or `undefined` when the request was sent as something else; the service answers that with 415
 * once the stream is known to exist (a missing stream is 404 whatever the body).
 */
export const NdjsonBody = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): AsyncIterable<Buffer> | undefined => {
    const body = ctx.switchToHttp().getRequest<FastifyRequest>().body as
      { [Symbol.asyncIterator]?: unknown } | null | undefined;
    return body && typeof body[Symbol.asyncIterator] === 'function'
      ? (body as AsyncIterable<Buffer>)
      : undefined;
  },
);
