import type { ErrorCode } from '@tributary/contracts';

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
