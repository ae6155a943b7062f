import { z } from 'zod';
import { itemIdSchema } from './streams';

/** `GET /v1/streams/{id}/conversations/{conversationId}` and `/documents/{documentId}` paths. */
export const conversationParamsSchema = z
  .object({ id: z.uuid({ error: 'must be a UUID' }), conversationId: itemIdSchema })
  .strict();
export const documentParamsSchema = z
  .object({ id: z.uuid({ error: 'must be a UUID' }), documentId: itemIdSchema })
  .strict();

const memberSchema = z.object({
  id: z.string(),
  sequence: z.number().int().nullable(),
  text: z.string(),
});

/** Messages shown with a conversation: its latest ones. */
export const CONVERSATION_MESSAGES_SHOWN = 100;
/** Sentences shown with a document: its first ones. */
export const DOCUMENT_SENTENCES_SHOWN = 1000;

export const conversationSchema = z
  .object({
    id: z.string().describe('The conversation id'),
    messages: z.number().int().describe('Messages stored (not deleted)'),
    lastSequence: z.number().int().nullable().describe('The highest `sequence` of its messages'),
    context: z
      .array(z.number())
      .nullable()
      .describe(
        'The context vector of its latest embedded message: over its last `contextWindow` messages ' +
          '(null until one is embedded)',
      ),
    contextMessages: z.number().int().nullable().describe('How many messages that context spans'),
    items: z
      .array(memberSchema)
      .describe(`Its latest messages in order (up to ${CONVERSATION_MESSAGES_SHOWN})`),
  })
  .meta({
    example: {
      id: 'support-1042',
      messages: 7,
      lastSequence: 6,
      context: [0.012, -0.034, 0.051],
      contextMessages: 5,
      items: [{ id: 'm-7', sequence: 6, text: 'Thanks, that fixed it' }],
    },
  });

export const documentSchema = z
  .object({
    id: z.string().describe('The document id'),
    sentences: z.number().int().describe('Sentences stored (not deleted)'),
    vector: z
      .array(z.number())
      .nullable()
      .describe('The attention-pooled document vector over its embedded sentences (null until one is)'),
    vectorSentences: z.number().int().nullable().describe('How many sentences that vector pools'),
    items: z.array(memberSchema).describe(`Its sentences in order (up to ${DOCUMENT_SENTENCES_SHOWN})`),
  })
  .meta({
    example: {
      id: 'paper-17',
      sentences: 3,
      vector: [0.021, 0.004, -0.017],
      vectorSentences: 3,
      items: [{ id: 'paper-17#0', sequence: 0, text: 'We study streaming embeddings.' }],
    },
  });
