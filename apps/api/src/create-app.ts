import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Config } from '@tributary/config';
import { DomainError } from '@tributary/contracts';
import { createLogger, logAccess, requestIdFor } from '@tributary/observability';
import type { FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { MetricsService } from './metrics/metrics.service';

/** The OpenAPI document of the API. */
export function buildOpenApi(app: NestFastifyApplication) {
  const document = new DocumentBuilder()
    .setTitle('Tributary API')
    .setDescription(
      'Multi-tenant streaming embeddings: ingest, embed, index, search, watch. ' +
        'Errors always have the body `{ "error": { "code", "message", "details", "requestId" } }`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin key' }, 'admin-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: "A tenant's API key" }, 'tenant-key')
    .build();
  return cleanupOpenApiDoc(SwaggerModule.createDocument(app, document));
}

/**
 * JSON is the body type of every route but NDJSON ingest. Fastify's JSON parser
 * is kept (it guards against prototype poisoning) but its errors become domain errors, because
 * Nest would otherwise flatten them into a generic 400 without saying what was wrong.
 */
function acceptJsonOnly(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    // Kept for routes that authenticate the exact bytes (signed webhooks).
    request.rawBody = text;
    if (text === '') {
      done(
        new DomainError('invalid_json', 'Request body is empty but Content-Type is application/json'),
        undefined,
      );
      return;
    }
    void parseJson(request, text, (err, value) => {
      if (err)
        done(new DomainError('invalid_json', `Request body is not valid JSON: ${err.message}`), undefined);
      else done(null, value);
    });
  });
}

/**
 * NDJSON bodies reach the route as the raw request stream, read line by line there: a body of any
 * length is never held in memory, so Fastify's body limit does not apply (NDJSON_MAX_BYTES does).
 */
function acceptNdjsonStreams(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], (_request, payload, done) => {
    done(null, payload);
  });
}

/** Requests the access log leaves out: probes and scrapes, every few seconds. */
const quietRoute = (url: string) => url === '/metrics' || url.startsWith('/health/');

export interface CreateAppOptions {
  /** Where log lines go; default stdout. Tests pass a stream to read them. */
  logDestination?: DestinationStream;
}

/** Builds the API application (not yet listening). Used by `main.ts` and by the tests. */
export async function createApp(
  config: Config,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const logger = createLogger(config, 'api', options.logDestination);
  const adapter = new FastifyAdapter({
    bodyLimit: config.BODY_LIMIT_BYTES,
    genReqId: (req: IncomingMessage) => requestIdFor(req),
    return503OnClosing: true,
    // request.ip, which the failed-authentication limit keys on, honours X-Forwarded-For only so far.
    trustProxy: config.TRUST_PROXY,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, logger), adapter, {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  // Nest flushes its start-up buffer only in listen(); from here on every line goes to pino at once
  // (an app driven by inject(), as in the tests, would otherwise buffer its logs forever).
  app.flushLogs();

  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();
  acceptJsonOnly(fastify);
  acceptNdjsonStreams(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequestDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (quietRoute(route)) return;
    logAccess(
      logger,
      {
        requestId: request.id,
        method: request.method,
        route,
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
        tenantId: request.principal?.tenant.id,
      },
      request.headers,
    );
  });

  if (config.DOCS_ENABLED) {
    SwaggerModule.setup('docs', app, () => buildOpenApi(app), { jsonDocumentUrl: 'docs-json' });
  }
  return app;
}
