import { z } from 'zod';
import { oneOf, textToEmbed } from './input-rules';
import { modelIdSchema } from './tenants';

// Empty inputs are refused as OpenAI does; lengths are checked by the service (413 with the limit).
const input = textToEmbed().min(1, 'must not be empty');

/** `POST /v1/embeddings`, as OpenAI's embeddings API defines it. */
export const createEmbeddingsSchema = z
  .object({
    model: modelIdSchema.optional().describe("Model version; default: the tenant's default model"),
    input: oneOf('a string or an array of strings', [
      input,
      z.array(input).min(1, 'must hold at least one string'),
    ]).describe('A string or an array of strings (token arrays are not accepted)'),
    encoding_format: z
      .enum(['float', 'base64'])
      .default('float')
      .describe('base64: little-endian float32 bytes'),
    dimensions: z.number().int().positive().optional().describe("Must equal the model's dimensions"),
    user: z.string().max(256).optional().describe('Accepted for compatibility; not stored'),
    input_type: z
      .enum(['query', 'passage'])
      .default('passage')
      .describe('Tributary extension: search query or document, for models that embed them differently (e5)'),
  })
  .strict()
  .meta({ example: { model: 'use-lite@1', input: ['A man is eating food.', 'A man is riding a horse.'] } });
export type CreateEmbeddings = z.infer<typeof createEmbeddingsSchema>;

export const embeddingsResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .meta({
    example: {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.0123, -0.0456, 0.0789] }],
      model: 'use-lite@1',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    },
  });
export type EmbeddingsResponse = z.infer<typeof embeddingsResponseSchema>;
