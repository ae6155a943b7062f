import { z } from 'zod';

/** Every error code the API answers with. The HTTP status for each is fixed by the API's error filter. */
export const errorCodes = [
  'bad_request',
  'invalid_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'request_timeout',
  'payload_too_large',
  'unsupported_media_type',
  'validation_failed',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/**
 * OpenAI's error `type`s, the ones its API answers for what our codes mean: `invalid_request_error`
 * for every client error it reports (401 `invalid_api_key` and 404 `model_not_found` included),
 * `requests` for a request-rate 429 (`rate_limit_exceeded`), `server_error` for 5xx. Clients of the
 * OpenAI-compatible routes read `type`; the API maps each of our codes to one.
 */
export const errorTypes = ['invalid_request_error', 'requests', 'server_error'] as const;
export type ErrorType = (typeof errorTypes)[number];

/**
 * The body of every error response: OpenAI's error object (`message`, `type`, `param`, `code`, so
 * the official clients read our errors as theirs) with our `details` and `requestId`.
 */
export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(errorCodes),
      message: z.string(),
      type: z.enum(errorTypes).describe("OpenAI's error type for the code"),
      param: z
        .string()
        .nullable()
        .describe('The first invalid field (its path, as in `details`) of a validation error; else null'),
      details: z.unknown().optional(),
      requestId: z.string().optional(),
    }),
  })
  .meta({
    example: {
      error: {
        code: 'validation_failed',
        message: 'Request body is invalid: name: Required',
        type: 'invalid_request_error',
        param: 'name',
        details: [{ path: 'name', message: 'Required' }],
        requestId: '5a1c0f9e-3d8b-4c35-9a57-1b8e2f0c7d41',
      },
    },
  });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/**
 * An error a service throws on purpose. Services never choose HTTP statuses; the API's error
 * filter maps each code to one. The message is what the caller reads, so it never carries internal
 * error text: that goes in `cause`, which the filter logs with the request id and never sends.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** For `rate_limited` and `unavailable`: when the caller may try again. */
    readonly retryAfterSeconds?: number,
    /** The internal failure behind it (a Redis or database error): logged, never answered. */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  constructor(resource: string, id: string) {
    super('not_found', `${resource} ${id} was not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(message: string, details?: unknown) {
    super('conflict', message, details);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(message = 'Missing or invalid API key. Send `Authorization: Bearer <key>`.') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

export class ValidationError extends DomainError {
  constructor(message: string, details?: unknown) {
    super('validation_failed', message, details);
  }
}

export class RateLimitedError extends DomainError {
  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message, undefined, retryAfterSeconds);
  }
}

export class UnavailableError extends DomainError {
  /** `cause`: the internal failure, logged with the request id by the API's error filter. */
  constructor(message: string, retryAfterSeconds: number, cause?: unknown) {
    super('unavailable', message, undefined, retryAfterSeconds, cause);
  }
}
