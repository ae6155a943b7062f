import { z } from 'zod';
import {
  FORBIDDEN_KEY,
  ITEM_ID_MAX_LENGTH,
  keyedRecord,
  METADATA_LIMITS,
  metadataIssues,
  oneOf,
  storableString,
  textToEmbed,
} from './input-rules';
import { rolloutSchema } from './rollouts';
import {
  itemKindIssues,
  ITEM_SEQUENCE_MAX,
  SENSOR_CHANNELS_MAX,
  settingsIssues,
  streamKinds,
  streamSettingsSchema,
  type StreamKind,
} from './stream-kinds';
import { modelIdSchema } from './tenants';

/** Names tenants choose for streams and collections (also part of URLs). */
export const resourceNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, "_" or "-"; starts with a letter or digit');

const kindSchema = z
  .enum(streamKinds)
  .describe(
    'What the items are, which decides the fields an item takes and the stream’s settings: `text` ' +
      '(texts), `conversation` (messages: `conversationId`, optional `sequence`), `document` (sentences: ' +
      '`documentId`, `sequence`), `sensor` (readings: `timestamp`, `values`, optional `text`). Items of ' +
      'every kind but `sensor` are embedded by their text. The worker does not yet process sensor ' +
      'readings (a later step adds the sensor encoder): until then a sensor item’s text, if any, is ' +
      'embedded like a text item’s, and one without text fails as `empty_text`.',
  );

export const createStreamSchema = z
  .object({
    name: resourceNameSchema.describe('Unique among the tenant’s streams'),
    kind: kindSchema,
    model: modelIdSchema.optional().describe('Model version; default the tenant’s default model'),
    collection: resourceNameSchema
      .optional()
      .describe('Collection the vectors go to; default the stream’s name. Created if missing.'),
    settings: streamSettingsSchema
      .optional()
      .describe(
        'Settings of the stream’s kind (defaults for those left out): conversation `contextWindow`, ' +
          '`decay`; document `temperature`; sensor `timeZone`; text streams have none. A setting of ' +
          'another kind is refused. `contextWindow`, `decay` and `temperature` may also be given ' +
          'beside `kind`.',
      ),
    contextWindow: streamSettingsSchema.shape.contextWindow.describe('Same as `settings.contextWindow`'),
    decay: streamSettingsSchema.shape.decay.describe('Same as `settings.decay`'),
    temperature: streamSettingsSchema.shape.temperature.describe('Same as `settings.temperature`'),
  })
  .strict()
  .superRefine((input, ctx) => {
    for (const issue of settingsIssues(input)) ctx.addIssue({ code: 'custom', ...issue, input });
  })
  .meta({
    example: {
      name: 'support-chats',
      kind: 'conversation',
      model: 'use-lite@1',
      collection: 'support-chats',
      settings: { contextWindow: 8, decay: 0.8 },
    },
  });
export type CreateStream = z.infer<typeof createStreamSchema>;

/** The stream every example in the API documentation shows. */
const exampleStream = {
  id: '6f1c2a8e-4b1d-4c55-9d3e-1a2b3c4d5e6f',
  name: 'tweets',
  kind: 'text',
  model: 'use-lite@1',
  collection: 'tweets',
  settings: {},
  counters: { accepted: 1200, embedded: 1180, searchable: 1175, failed: 2, lag: 18 },
  createdAt: '2026-11-25T10:00:00.000Z',
} as const;

export const streamSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    kind: z.enum(streamKinds),
    model: z.string(),
    collection: z.string(),
    settings: streamSettingsSchema.describe(
      'The settings in effect, defaults filled in: conversation `contextWindow`, `decay`; document ' +
        '`temperature`; sensor `timeZone`; none for text',
    ),
    counters: z.object({
      accepted: z.number().int().describe('Items accepted (each id once)'),
      embedded: z.number().int().describe('Items embedded and written to the vector store'),
      searchable: z
        .number()
        .int()
        .describe(
          'Items that search finds (at most `embedded`). With the embedded vector store, written items ' +
            'become searchable a moment later, once this API process applied them; with pgvector or ' +
            'Qdrant it equals `embedded`. Wait for it to reach a count instead of sleeping before a search. ' +
            'A lower bound while items are still being applied; each API process answers for its own index.',
        ),
      failed: z.number().int().describe('Items that failed for good (see /failures)'),
      lag: z.number().int().describe('Accepted items not yet embedded or failed'),
    }),
    createdAt: z.iso.datetime(),
  })
  .meta({ example: exampleStream });
export type StreamView = z.infer<typeof streamSchema>;

export const createdStreamSchema = streamSchema
  .extend({
    webhook: z.object({
      url: z.string().describe('Path of the stream’s webhook'),
      secret: z.string().describe('HMAC-SHA256 key of the webhook. Shown only in this response.'),
      signature: z.string().describe('How to sign a webhook request'),
    }),
  })
  .meta({
    example: {
      ...exampleStream,
      counters: { accepted: 0, embedded: 0, searchable: 0, failed: 0, lag: 0 },
      webhook: {
        url: `/v1/hooks/${exampleStream.id}`,
        secret: 'whsec_3q2+7w…',
        signature: 'x-tributary-timestamp: <unix seconds>; x-tributary-signature: v1=<hex hmac>',
      },
    },
  });

export const streamListSchema = z.object({ data: z.array(streamSchema) }).meta({
  example: { data: [exampleStream] },
});

const metadataValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** Names of `what` (metadata keys, sensor channels): what filters and payloads can carry as keys. */
const keyName = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, `${what} are 1–64 letters, digits, "_" or "-"`)
    .refine(
      (key) => key !== FORBIDDEN_KEY,
      `"${FORBIDDEN_KEY}" would alter the object's prototype; rename it`,
    );
const metadataKey = keyName('metadata keys');
// Checked here because parsing a record assigns its keys, and assigning this one changes the prototype.
const nestedKey = z
  .string()
  .refine((key) => key !== FORBIDDEN_KEY, `"${FORBIDDEN_KEY}" would alter the object's prototype; rename it`);

/** An item's id: the idempotency key, and the `{id}` of its delete URL. */
export const itemIdSchema = storableString().min(1).max(ITEM_ID_MAX_LENGTH);

/** Text that is embedded (item text, a text query): at most 32,768 characters. */
export const itemTextSchema = textToEmbed().min(1).max(32_768);

const metadataSchema = keyedRecord(
  metadataKey,
  oneOf('a string, a number, a boolean, null, an array of those or an object', [
    metadataValue,
    z.array(metadataValue),
    keyedRecord(nestedKey, z.unknown()),
  ]),
).superRefine((metadata, ctx) => {
  for (const issue of metadataIssues(metadata)) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: metadata });
  }
});

const sensorValuesSchema = keyedRecord(
  keyName('channel names'),
  z.number({ error: 'must be a finite number' }),
).refine((values) => {
  const channels = Object.keys(values).length;
  return channels >= 1 && channels <= SENSOR_CHANNELS_MAX;
}, `must hold 1–${SENSOR_CHANNELS_MAX} channels`);

/**
 * One item as clients send it (REST, NDJSON line, webhook): the fields of every kind. Which of
 * them an item of a given stream needs or may not have is {@link itemSchemaFor}'s business; the
 * body schema stays one schema so that the API document has one item type.
 */
export const itemSchema = z
  .object({
    id: itemIdSchema.describe('The client’s id: re-sending it never duplicates work'),
    text: itemTextSchema
      .optional()
      .describe(
        'The text to embed; must hold something to embed (not only spaces or control characters). ' +
          'Required in text, conversation (the message) and document (one sentence) streams; optional in sensor streams.',
      ),
    metadata: metadataSchema
      .optional()
      .describe(
        `Scalar values can be used as search filters. At most ${METADATA_LIMITS.depth} levels deep, ` +
          `${METADATA_LIMITS.keys} keys over all levels and ${METADATA_LIMITS.bytes} bytes as JSON`,
      ),
    timestamp: z.iso
      .datetime({ offset: true })
      .optional()
      .describe(
        'When the item happened (ISO 8601). Required in sensor streams (when the reading was taken).',
      ),
    conversationId: itemIdSchema
      .optional()
      .describe(
        'Conversation streams only, required: the conversation the message belongs to (1–256 characters)',
      ),
    documentId: itemIdSchema
      .optional()
      .describe('Document streams only, required: the document the sentence belongs to (1–256 characters)'),
    sequence: z
      .number()
      .int()
      .min(0)
      .max(ITEM_SEQUENCE_MAX)
      .optional()
      .describe(
        'Conversation and document streams only. Conversation, optional: the message’s position in its ' +
          'conversation; without it, new messages are numbered in order of arrival after the highest so far. ' +
          'Document, required: the sentence’s position in the document, from 0.',
      ),
    values: sensorValuesSchema
      .optional()
      .describe(
        `Sensor streams only, required: the reading, {"<channel>": <finite number>} with 1–${SENSOR_CHANNELS_MAX} ` +
          'channels named like metadata keys',
      ),
  })
  .strict();
export type IngestItem = z.infer<typeof itemSchema>;

function kindItemSchema(kind: StreamKind) {
  return itemSchema.superRefine((item, ctx) => {
    for (const issue of itemKindIssues(kind, item)) ctx.addIssue({ code: 'custom', ...issue, input: item });
  });
}
const itemSchemas = {
  text: kindItemSchema('text'),
  conversation: kindItemSchema('conversation'),
  document: kindItemSchema('document'),
  sensor: kindItemSchema('sensor'),
} satisfies Record<StreamKind, z.ZodType<IngestItem>>;

/** An item of a stream of `kind`: {@link itemSchema} with the fields the kind needs, and none it does not take. */
export function itemSchemaFor(kind: StreamKind): z.ZodType<IngestItem> {
  return itemSchemas[kind];
}

/** Items one `/items` request (or webhook) may carry; more go as NDJSON, in any number. */
export const MAX_ITEMS_PER_REQUEST = 1000;

export const ingestItemsSchema = z
  .object({
    items: z
      .array(itemSchema)
      .min(1)
      .max(MAX_ITEMS_PER_REQUEST)
      .describe('Items of the stream’s kind: each field says which kinds take it'),
  })
  .strict()
  .meta({
    example: {
      items: [{ id: 'tweet-1', text: 'Rain again in Lisbon today', metadata: { lang: 'en', likes: 3 } }],
    },
  });
export type IngestItems = z.infer<typeof ingestItemsSchema>;

export const ingestResultSchema = z
  .object({
    accepted: z.number().int().describe('New items, durably queued'),
    duplicates: z.number().int().describe('Ids this stream had already accepted: nothing was redone'),
    invalid: z
      .array(z.object({ line: z.number().int(), error: z.string() }))
      .optional()
      .describe('NDJSON only: lines that were not valid items (the first 100), with their line numbers'),
    invalidCount: z.number().int().optional(),
  })
  .meta({ example: { accepted: 998, duplicates: 2 } });
export type IngestResult = z.infer<typeof ingestResultSchema>;

/**
 * Why an item failed for good, as stored and listed by `/failures`: a stable code and the message
 * shown for it. Never the error text of the failure itself (that names internals; it is in the
 * worker's log, with the item and job ids).
 */
export const itemFailureReasons = {
  empty_text:
    'The text is empty once normalised (only spaces or control characters); send it with visible text.',
  untokenizable: "The text could not be tokenized for the stream's model.",
  collection_missing: "The stream's collection no longer exists.",
  attempts_exhausted:
    'Embedding failed on every attempt because of a temporary problem on our side; retry it with POST /v1/streams/{id}/failures/retry.',
} as const;
export type ItemFailureReason = keyof typeof itemFailureReasons;
export const itemFailureReasonCodes = Object.keys(itemFailureReasons) as [
  ItemFailureReason,
  ...ItemFailureReason[],
];

export const failureSchema = z.object({
  id: z.string(),
  reason: z.enum(itemFailureReasonCodes).describe('Stable code of why the item failed'),
  error: z.string().describe('What the reason means and what to do; the same text for every item with it'),
  retries: z.number().int(),
  acceptedAt: z.iso.datetime(),
});
export const failureListSchema = z
  .object({ data: z.array(failureSchema), nextCursor: z.string().nullable() })
  .meta({
    example: {
      data: [
        {
          id: 'tweet-9',
          reason: 'empty_text',
          error: itemFailureReasons.empty_text,
          retries: 0,
          acceptedAt: '2026-11-25T10:00:00.000Z',
        },
      ],
      nextCursor: null,
    },
  });

export const retryFailuresSchema = z
  .object({
    ids: z.array(itemIdSchema).min(1).max(1000).optional().describe('Default: every failed item'),
  })
  .strict()
  .meta({ example: { ids: ['tweet-9'] } });

/** float32's largest finite magnitude: vectors are searched as float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

const vectorQuerySchema = z
  .array(z.number().refine((x) => Math.abs(x) <= FLOAT32_MAX, 'must fit in float32 (|x| ≤ 3.4028235e38)'))
  .min(1)
  .max(4096)
  .refine((vector) => vector.some((x) => x !== 0), {
    message: 'the vector is all zeros; cosine similarity needs a non-zero vector',
  });

/** The spaces a collection can be searched in: items, and those stream kinds derive. */
export const searchSpaces = ['items', 'context', 'documents'] as const;
export type SearchSpace = (typeof searchSpaces)[number];

export const searchSchema = z
  .object({
    query: oneOf('a string or an array of numbers', [itemTextSchema, vectorQuerySchema]).describe(
      'Text (embedded with the collection’s model) or a vector of the collection’s dimensions',
    ),
    k: z.number().int().min(1).max(100).default(10),
    filter: keyedRecord(metadataKey, z.union([storableString(), z.number(), z.boolean(), z.null()]))
      .optional()
      .describe('Exact match on metadata values (all must match)'),
    space: z
      .enum(searchSpaces)
      .default('items')
      .describe(
        'What to search: `items` (each item’s own vector, the default), `context` (conversation streams: ' +
          'each message’s context vector over the last messages of its conversation, so a query finds ' +
          'conversations by their flow) or `documents` (document streams: one attention-pooled vector per document)',
      ),
  })
  .strict()
  .meta({ example: { query: 'rain in lisbon', k: 5, filter: { lang: 'en' } } });
export type SearchRequest = z.infer<typeof searchSchema>;

export const searchResultSchema = z
  .object({
    model: z
      .string()
      .describe(
        'The model version that answered (also the `x-tributary-model` header): the serving one, or a canary’s candidate',
      ),
    data: z.array(
      z.object({
        id: z.string().describe('The item’s id (`context`: the message’s; `documents`: the document’s)'),
        score: z.number().describe('Cosine similarity'),
        text: z.string().describe('The item’s text (`context`: the message’s; `documents`: empty)'),
        metadata: z.record(z.string(), z.unknown()).nullable(),
        conversationId: z.string().optional().describe('`context` space: the message’s conversation'),
        messages: z.number().int().optional().describe('`context` space: the messages its context spans'),
        sentences: z.number().int().optional().describe('`documents` space: the document’s sentences'),
      }),
    ),
  })
  .meta({
    example: {
      model: 'use-lite@1',
      data: [{ id: 'tweet-1', score: 0.83, text: 'Rain again in Lisbon today', metadata: { lang: 'en' } }],
    },
  });

export const collectionSchema = z.object({
  name: z.string(),
  model: z.string().describe('The serving version (what searches use)'),
  servingModel: z.string().describe('Same as `model`'),
  dimensions: z.number().int(),
  points: z.number().int().describe('Points of the serving version'),
  rollout: rolloutSchema.nullable().describe('The rollout going, if any'),
  createdAt: z.iso.datetime(),
});
export const collectionListSchema = z.object({ data: z.array(collectionSchema) }).meta({
  example: {
    data: [
      {
        name: 'tweets',
        model: 'use-lite@1',
        servingModel: 'use-lite@1',
        dimensions: 512,
        points: 1180,
        rollout: null,
        createdAt: '2026-11-25T10:00:00.000Z',
      },
    ],
  },
});
