import { RouteConfig } from '@nestjs/platform-fastify';
import { ingestBodyLimitBytes, type Config } from '@tributary/config';
import { DomainError, MAX_ITEMS_PER_REQUEST } from '@tributary/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';

/** Route config key that marks the item-ingest routes, whose body limit is derived from the item size. */
const ITEMS_BODY = 'itemsBody';

/** Marks a route whose JSON body is a batch of items (`{ items: [...] }`): its limit is the ingest one. */
export const ItemsBody = () => RouteConfig({ [ITEMS_BODY]: true });

/** How a body is bounded: its size, and how long the server waits for it. */
export interface BodyBounds {
  maxBytes: number;
  /** The 413 for this body, given its limit. */
  tooLarge: () => DomainError;
  /** Refuse at once a body whose Content-Length is over the limit (not for bodies read as they come). */
  checkDeclaredLength: boolean;
  idleMs: number;
  /** When the whole body must have arrived (epoch ms). */
  deadline: number;
  idleError: () => DomainError;
  deadlineError: () => DomainError;
}

const EMPTY = Buffer.alloc(0);

/**
 * A request body as the parsers and routes read it, bounded in size and in time. It pulls from the
 * request only while its reader wants more, and times the client only then: a route busy with what
 * it already read (an NDJSON batch being stored) never counts as the client pausing. Past a bound,
 * every byte within the limit is still delivered, then the error: an NDJSON route keeps the
 * complete lines it received. The request itself is never destroyed (the answer must still reach
 * the client); what the client still sends is read and dropped, and the connection closes after
 * the answer.
 */
export class BoundedBody extends Readable {
  private bytes = 0;
  private started = false;
  private ended = false;
  private pending: Error | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: Readable,
    private bounds: BodyBounds,
    private readonly declaredLength: number | undefined,
    /** Called once when the body is left unread: the connection must not be reused. */
    private readonly onAbandoned: () => void,
  ) {
    super();
  }

  /** Changes the bounds before the first read (NDJSON bodies are streamed, with their own limit). */
  rebound(change: Partial<BodyBounds>): void {
    this.bounds = { ...this.bounds, ...change };
  }

  override _read(): void {
    if (this.pending) {
      // Deliver what is buffered first; the error follows once the reader has taken it.
      if (this.readableLength === 0) this.destroy(this.pending);
      else this.push(EMPTY);
      return;
    }
    if (!this.started) {
      this.started = true;
      if (
        this.bounds.checkDeclaredLength &&
        this.declaredLength !== undefined &&
        this.declaredLength > this.bounds.maxBytes
      ) {
        this.fail(this.bounds.tooLarge());
        return;
      }
      const remaining = Math.max(0, this.bounds.deadline - Date.now());
      this.deadlineTimer = setTimeout(() => this.fail(this.bounds.deadlineError()), remaining);
      this.source.on('data', this.onData);
      this.source.on('end', this.onEnd);
      this.source.on('error', this.onSourceError);
      this.source.on('close', this.onSourceClose);
    }
    this.armIdle();
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimers();
    if (!this.ended) this.abandon();
    callback(err);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.disarmIdle();
    this.bytes += chunk.length;
    if (this.bytes > this.bounds.maxBytes) {
      const within = chunk.length - (this.bytes - this.bounds.maxBytes);
      if (within > 0) this.push(chunk.subarray(0, within));
      this.fail(this.bounds.tooLarge());
      return;
    }
    if (this.push(chunk)) this.armIdle();
    else this.source.pause();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.clearTimers();
    this.detach();
    this.push(null);
  };

  private readonly onSourceError = (err: Error): void => {
    this.fail(new DomainError('bad_request', `The request body was cut off (${err.message})`));
  };

  private readonly onSourceClose = (): void => {
    if (!this.ended) this.fail(new DomainError('bad_request', 'The client closed the connection mid-body'));
  };

  private fail(err: Error): void {
    if (this.pending || this.destroyed) return;
    this.pending = err;
    this.clearTimers();
    this.abandon();
    // A reader waiting now gets the error now; one with data still buffered gets it after that data.
    if (this.readableLength === 0) this.destroy(err);
    else this.push(EMPTY);
  }

  /** Stops listening to the request; the rest of the body is read and dropped. */
  private abandon(): void {
    if (this.ended) return;
    this.ended = true;
    this.detach();
    this.onAbandoned();
    this.source.on('error', () => undefined);
    this.source.resume();
  }

  private detach(): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onSourceError);
    this.source.off('close', this.onSourceClose);
  }

  private armIdle(): void {
    this.disarmIdle();
    if (this.ended) return;
    this.idleTimer = setTimeout(() => this.fail(this.bounds.idleError()), this.bounds.idleMs);
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private clearTimers(): void {
    this.disarmIdle();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }
}

const bodies = new WeakMap<FastifyRequest, BoundedBody>();

/**
 * Fastify's own body limit, set out of reach: its 413 could state neither the limit nor what to do,
 * and it would come before the route's (it checks Content-Length first); {@link BoundedBody} bounds
 * every body instead.
 */
export const FASTIFY_BODY_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Bounds every request body, in one place: size (413 that states the limit and what to send
 * instead), pauses (UPLOAD_IDLE_TIMEOUT_MS) and total time (UPLOAD_TIMEOUT_MS), both 408.
 */
export function boundRequestBodies(fastify: FastifyInstance, config: Config): void {
  const itemsLimit = ingestBodyLimitBytes(config);
  const itemsTooLarge = () =>
    new DomainError(
      'payload_too_large',
      `Request body is larger than ${itemsLimit} bytes, the limit for ${MAX_ITEMS_PER_REQUEST} items of up to ` +
        `${config.INGEST_ITEM_MAX_BYTES} bytes each (INGEST_ITEM_MAX_BYTES). Send fewer items per request, ` +
        'or any number of them as NDJSON to POST /v1/streams/{id}/items:ndjson.',
      { limitBytes: itemsLimit },
    );
  const jsonTooLarge = () =>
    new DomainError(
      'payload_too_large',
      `Request body is larger than ${config.BODY_LIMIT_BYTES} bytes (BODY_LIMIT_BYTES); send less per request.`,
      { limitBytes: config.BODY_LIMIT_BYTES },
    );
  const idleError = () =>
    new DomainError(
      'request_timeout',
      `No part of the request body arrived for ${config.UPLOAD_IDLE_TIMEOUT_MS} ms (UPLOAD_IDLE_TIMEOUT_MS).`,
    );
  const deadlineError = () =>
    new DomainError(
      'request_timeout',
      `The request body did not arrive within ${config.UPLOAD_TIMEOUT_MS} ms (UPLOAD_TIMEOUT_MS); send it in smaller parts.`,
    );

  fastify.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply, payload) => {
    // Every request gets one (it does nothing until a parser reads it), since Fastify parses a body
    // whenever a Content-Type is given, with or without a declared length.
    const items =
      (request.routeOptions.config as unknown as Record<string, unknown> | undefined)?.[ITEMS_BODY] === true;
    const declared = Number(request.headers['content-length']);
    const body = new BoundedBody(
      payload,
      {
        maxBytes: items ? itemsLimit : config.BODY_LIMIT_BYTES,
        tooLarge: items ? itemsTooLarge : jsonTooLarge,
        checkDeclaredLength: true,
        idleMs: config.UPLOAD_IDLE_TIMEOUT_MS,
        deadline: Date.now() + config.UPLOAD_TIMEOUT_MS,
        idleError,
        deadlineError,
      },
      Number.isFinite(declared) ? declared : undefined,
      () => {
        if (!reply.sent) void reply.header('connection', 'close');
      },
    );
    bodies.set(request, body);
    return body;
  });
}

/**
 * Marks a request's body as NDJSON, streamed to the route: bounded by NDJSON_MAX_BYTES, read as it
 * comes (a Content-Length over the limit is not refused up front: everything before the limit is
 * taken). The 413's message is completed by the route, which knows the lines.
 */
export function boundAsNdjson(request: FastifyRequest, config: Config): void {
  bodies.get(request)?.rebound({
    maxBytes: config.NDJSON_MAX_BYTES,
    checkDeclaredLength: false,
    tooLarge: () =>
      new DomainError(
        'payload_too_large',
        `NDJSON bodies are limited to ${config.NDJSON_MAX_BYTES} bytes (NDJSON_MAX_BYTES)`,
        { limitBytes: config.NDJSON_MAX_BYTES },
      ),
  });
}
