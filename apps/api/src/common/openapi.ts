import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { errorBodySchema } from '@tributary/contracts';

export class ErrorBody extends createZodDto(errorBodySchema) {}

const descriptions: Record<number, string> = {
  400: 'Malformed request (for example, a body that is not JSON)',
  401: 'Missing, invalid or revoked API key',
  403: 'The key may not do this',
  404: 'No such resource for this caller',
  408: 'The request body paused or took too long to arrive (`UPLOAD_IDLE_TIMEOUT_MS`, `UPLOAD_TIMEOUT_MS`)',
  409: 'Conflicts with an existing resource',
  413: 'Request body too large; the message states the limit and what to send instead',
  415: 'Unsupported Content-Type',
  422: 'Well-formed but invalid input; `details` lists each field',
  429: 'Rate limited; retry after the `Retry-After` seconds',
  503: 'A backend is unavailable; retry after the `Retry-After` seconds',
};

/** Documents the error responses a route can give, each with the shared error body. */
export function ApiErrors(...statuses: number[]) {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: descriptions[status] ?? 'Error', type: ErrorBody }),
    ),
  );
}
