import type { StreamWithCollection } from '@tributary/db';
import type { FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body as received (webhook signatures are over these exact bytes). */
    rawBody?: string;
    /** The stream a verified webhook is for (set by the signature guard). */
    webhookStream?: StreamWithCollection;
    /** The replay mark this request's signature set (taken back if the request then fails). */
    webhookReplayMark?: string;
  }
}

/** A request to `POST /v1/hooks/:streamId`. */
export type WebhookRequest = FastifyRequest<{ Params: { streamId?: string } }>;
