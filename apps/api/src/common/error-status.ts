import type { ErrorCode, ErrorType } from '@tributary/contracts';

/** The one table from domain error codes to HTTP statuses. */
export const errorStatus: { [C in ErrorCode]: number } = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/**
 * The OpenAI error type each code is answered with (see `errorTypes`). OpenAI answers
 * `invalid_request_error` even for a bad key or an unknown model, so clients that branch on
 * `type` see the same values from us as from OpenAI; the status still tells 401 from 404.
 */
export const errorType: { [C in ErrorCode]: ErrorType } = {
  bad_request: 'invalid_request_error',
  invalid_json: 'invalid_request_error',
  unauthorized: 'invalid_request_error',
  forbidden: 'invalid_request_error',
  not_found: 'invalid_request_error',
  conflict: 'invalid_request_error',
  request_timeout: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  validation_failed: 'invalid_request_error',
  rate_limited: 'requests',
  unavailable: 'server_error',
  internal: 'server_error',
};
