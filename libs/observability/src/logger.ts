import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '@tributary/config';
import pino, { type DestinationStream, type LoggerOptions } from 'pino';

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * The request id for an incoming request: the caller's `x-request-id` when it is well formed,
 * otherwise a fresh UUID. The chosen id is written back to the header so every layer (Fastify,
 * pino-http, the error filter) reads the same value.
 */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  req.headers['x-request-id'] = id;
  return id;
}

/** Headers whose values never reach a log line, at any level (keys, cookies, webhook signatures). */
const SECRET_HEADERS = ['authorization', 'cookie', '["x-api-key"]', '["x-tributary-signature"]'];

/** pino options shared by every app: JSON lines, secrets redacted, the app name on every line. */
export function loggerOptions(config: Config, app: string): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        ...SECRET_HEADERS.flatMap((h) => {
          const path = h.startsWith('[') ? h : `.${h}`;
          return [`headers${path}`, `req.headers${path}`];
        }),
        'secret',
        '*.secret',
      ],
      censor: '[redacted]',
    },
    formatters: { level: (label) => ({ level: label }) },
  };
}

/**
 * A pino logger with the shared options: for code outside Nest (launcher, scripts), and the root of
 * the API's request logging. `destination` defaults to stdout (tests pass a stream to read the lines).
 */
export function createLogger(config: Config, app: string, destination?: DestinationStream): pino.Logger {
  return destination ? pino(loggerOptions(config, app), destination) : pino(loggerOptions(config, app));
}

/** What one access-log line says about a request: no headers, no body, no query string. */
export interface AccessLogEntry {
  requestId: string;
  method: string;
  /** The route template (`/v1/streams/:id/items`), never the URL with its ids and query. */
  route: string;
  status: number;
  durationMs: number;
  tenantId?: string | undefined;
}

/**
 * Writes the one access line per request at info, and at debug a second line with the request's
 * headers (secrets redacted by {@link loggerOptions}), so a normal run's log stays readable.
 */
export function logAccess(
  logger: pino.Logger,
  entry: AccessLogEntry,
  headers: Record<string, unknown>,
): void {
  logger.info({ ...entry, durationMs: Math.round(entry.durationMs * 10) / 10 }, 'request');
  if (logger.isLevelEnabled('debug'))
    logger.debug({ requestId: entry.requestId, headers }, 'request headers');
}
