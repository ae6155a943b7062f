import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { DomainError, type ErrorBody, type ErrorCode } from '@tributary/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorStatus, errorType } from './error-status';

interface Mapped {
  code: ErrorCode;
  message: string;
  details?: unknown;
  retryAfterSeconds?: number | undefined;
}

/**
 * OpenAI's `param`: the first field a validation error names (`details` as ApiValidationPipe and
 * services write them, `{ path, message }[]`); null otherwise, and for the whole-body problems the
 * pipe names `(body)`, which are no field.
 */
export function paramOf(details: unknown): string | null {
  if (!Array.isArray(details)) return null;
  for (const detail of details as unknown[]) {
    const path = (detail as { path?: unknown } | null)?.path;
    if (typeof path === 'string' && path.length > 0 && !path.startsWith('(')) return path;
  }
  return null;
}

const httpStatusCode: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'bad_request',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

function mapHttpException(err: HttpException): Mapped {
  const status = err.getStatus();
  const response = err.getResponse();
  const message =
    typeof response === 'string'
      ? response
      : typeof (response as { message?: unknown }).message === 'string'
        ? (response as { message: string }).message
        : err.message;
  if (status === 415) {
    return { code: 'unsupported_media_type', message: `${message}; send \`Content-Type: application/json\`` };
  }
  return { code: httpStatusCode[status] ?? 'bad_request', message };
}

/**
 * Turns every error into `{ error: { code, message, type, param, details, requestId } }` (OpenAI's
 * error object plus ours, on every route: extra fields are allowed, so one shape serves the
 * OpenAI-compatible routes and the rest alike): domain errors by the
 * status table, Nest's and Fastify's client errors by their status, and anything else (5xx
 * included) into a logged 500
 * that reveals nothing about the internals. A domain error's `cause` (the Redis or database error
 * behind a 503) is logged here with the request id, and only its stable message is answered.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    this.respond(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>());
  }

  /** Answers `exception` in the error shape; also used for the errors Fastify's router raises before Nest runs. */
  respond(exception: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const mapped = this.map(exception, request);
    const status = errorStatus[mapped.code];
    const body: ErrorBody = {
      error: {
        code: mapped.code,
        message: mapped.message,
        type: errorType[mapped.code],
        param:
          mapped.code === 'validation_failed' || mapped.code === 'invalid_json'
            ? paramOf(mapped.details)
            : null,
        ...(mapped.details === undefined ? {} : { details: mapped.details }),
        requestId: request.id,
      },
    };
    if (mapped.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(Math.max(1, Math.ceil(mapped.retryAfterSeconds))));
    }
    void reply.status(status).send(body);
  }

  private map(exception: unknown, request: FastifyRequest): Mapped {
    if (exception instanceof DomainError) {
      if (exception.cause !== undefined) {
        this.logger.warn(
          { ...this.context(request), code: exception.code, err: exception.cause },
          `request refused: ${exception.message}`,
        );
      }
      return {
        code: exception.code,
        message: exception.message,
        details: exception.details,
        retryAfterSeconds: exception.retryAfterSeconds,
      };
    }
    if (exception instanceof HttpException && exception.getStatus() < 500) return mapHttpException(exception);
    this.logger.error({ ...this.context(request), err: exception }, 'unhandled error');
    return { code: 'internal', message: 'Internal server error; quote the request id when reporting it' };
  }

  /** What a log line needs to find the request again: its id (also in the answer), route and tenant. */
  private context(request: FastifyRequest) {
    return {
      requestId: request.id,
      method: request.method,
      route: request.routeOptions?.url,
      ...(request.principal ? { tenantId: request.principal.tenant.id } : {}),
    };
  }
}
