import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Config } from '@tributary/config';
import { DomainError, FORBIDDEN_KEY, ITEM_ID_MAX_LENGTH, ValidationError } from '@tributary/contracts';
import { createLogger, logAccess, requestIdFor } from '@tributary/observability';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { boundAsNdjson, boundRequestBodies, FASTIFY_BODY_LIMIT } from './common/request-body';
import { MetricsService } from './metrics/metrics.service';
import { describeSignatureScheme } from './streams/webhook-signature.openapi';

/** The OpenAPI document of the API. */
export function buildOpenApi(app: NestFastifyApplication, config: Pick<Config, 'WEBHOOK_TOLERANCE_SECONDS'>) {
  const document = new DocumentBuilder()
    .setTitle('Tributary API')
    .setDescription(
      'Multi-tenant streaming embeddings: ingest, embed, index, search, watch. ' +
        'Errors always have the body `{ "error": { "code", "message", "type", "param", "details", "requestId" } }` ' +
        "(OpenAI's error object, so the official `openai` clients read them).",
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The admin key' }, 'admin-key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: "A tenant's API key" }, 'tenant-key')
    .build();
  return describeSignatureScheme(
    cleanupOpenApiDoc(SwaggerModule.createDocument(app, document)),
    config.WEBHOOK_TOLERANCE_SECONDS,
  );
}

/**
 * JSON is the body type of every route but NDJSON ingest. Fastify's JSON parser
 * is kept (it guards against prototype poisoning) but its errors become domain errors, because
 * Nest would otherwise flatten them into a generic 400 without saying what was wrong. An empty
 * body is no body (the validation pipe reads it as `{}`): many clients send
 * `Content-Type: application/json` with a DELETE and nothing else.
 */
function acceptJsonOnly(fastify: FastifyInstance): void {
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(
        new DomainError(
          'invalid_json',
          'Request body is not valid UTF-8; JSON bodies must be UTF-8 (escape other characters as \\uXXXX)',
        ),
        undefined,
      );
      return;
    }
    // Kept for routes that authenticate the exact bytes (signed webhooks).
    request.rawBody = text;
    if (text === '') {
      done(null, undefined);
      return;
    }
    void parseJson(request, text, (err, value) => {
      if (!err) {
        done(null, value);
        return;
      }
      // Fastify's error says only "not valid JSON"; parsing again (on failures only) tells a
      // syntax error, with its position, from a refused prototype key.
      try {
        JSON.parse(text);
      } catch (syntax) {
        done(
          new DomainError('invalid_json', `Request body is not valid JSON: ${(syntax as Error).message}`),
          undefined,
        );
        return;
      }
      done(
        new DomainError(
          'validation_failed',
          `Request body holds a "${FORBIDDEN_KEY}" key (or "constructor" with a "prototype" key), refused anywhere ` +
            'in a body because it would alter object prototypes; rename that key',
        ),
        undefined,
      );
    });
  });
}

/**
 * The errors Fastify's router answers itself, before any route (a path segment longer than the
 * router allows, a malformed percent-encoding), in the same error shape as every other error and
 * without echoing the URL.
 */
function routerErrors(filter: ApiExceptionFilter): FastifyServerOptions['frameworkErrors'] {
  return (error, request, reply) => {
    const mapped =
      error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? new ValidationError(
            `A path segment is longer than ${ITEM_ID_MAX_LENGTH} characters, the most an id or a name in a URL may have`,
            [{ path: '(path)', message: `at most ${ITEM_ID_MAX_LENGTH} characters per segment` }],
          )
        : error.code === 'FST_ERR_BAD_URL'
          ? new DomainError(
              'bad_request',
              'The URL holds a malformed percent-encoding: each "%" must start an escape of valid UTF-8 ' +
                '(such as %2F); send a literal "%" as %25',
            )
          : error;
    // The onRequest hook that sets it has not run for these.
    void reply.header('x-request-id', request.id);
    filter.respond(mapped, request, reply);
  };
}

/**
 * NDJSON bodies reach the route as the request stream, read line by line there: a body of any
 * length is never held in memory, so Fastify's body limit does not apply (NDJSON_MAX_BYTES does).
 */
function acceptNdjsonStreams(fastify: FastifyInstance, config: Config): void {
  fastify.addContentTypeParser(['application/x-ndjson', 'application/jsonl'], (request, payload, done) => {
    boundAsNdjson(request, config);
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
    // Bodies are bounded per route by boundRequestBodies, with errors that state the limit.
    bodyLimit: FASTIFY_BODY_LIMIT,
    // Every id that can be accepted can be addressed in a URL (and deleted).
    routerOptions: { maxParamLength: ITEM_ID_MAX_LENGTH },
    frameworkErrors: routerErrors(new ApiExceptionFilter()),
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
  acceptNdjsonStreams(fastify, config);
  boundRequestBodies(fastify, config);
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
    SwaggerModule.setup('docs', app, () => buildOpenApi(app, config), { jsonDocumentUrl: 'docs-json' });
  }
  return app;
}
