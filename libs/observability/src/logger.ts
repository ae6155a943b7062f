import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Config } from '@tributary/config';
import pino, { type LoggerOptions } from 'pino';

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

/** pino options shared by every app: JSON lines, secrets redacted, the app name on every line. */
export function loggerOptions(config: Config, app: string): LoggerOptions {
  return {
    level: config.LOG_LEVEL,
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-tributary-signature"]', 'secret', '*.secret'],
      censor: '[redacted]',
    },
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** A plain pino logger for code that runs outside Nest (launcher, scripts). */
export function createLogger(config: Config, app: string): pino.Logger {
  return pino(loggerOptions(config, app));
}
