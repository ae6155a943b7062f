import { z } from 'zod';
import { modelIdSchema } from './tenants';

/** A model version this deployment serves, as OpenAI's `GET /v1/models` lists one (plus our facts). */
export const modelSchema = z
  .object({
    id: modelIdSchema,
    object: z.literal('model'),
    created: z
      .number()
      .int()
      .describe("Unix seconds when the version was registered (its manifest's `created`; never changes)"),
    owned_by: z.literal('tributary'),
    dimensions: z.number().int().positive().describe('Length of each embedding'),
    maxTokens: z.number().int().positive().describe('Longer inputs are truncated (`x-tributary-truncated`)'),
    quantization: z.enum(['none', 'int8']),
  })
  .meta({
    example: {
      id: 'use-lite@1',
      object: 'model',
      created: 1795603453,
      owned_by: 'tributary',
      dimensions: 512,
      maxTokens: 128,
      quantization: 'none',
    },
  });
export type ModelView = z.infer<typeof modelSchema>;

export const modelListSchema = z
  .object({ object: z.literal('list'), data: z.array(modelSchema) })
  .meta({ example: { object: 'list', data: [modelSchema.meta()?.example] } });
export type ModelList = z.infer<typeof modelListSchema>;

/** `GET /v1/models/{id}`: any string, so an id of another shape is a 404 as at OpenAI, not a 422. */
export const modelIdParamSchema = z.object({ id: z.string().min(1).max(200) }).strict();

/** Whether this deployment's copy of a version's artifacts is the one its manifest pins. */
export const artifactStates = ['present', 'missing', 'corrupt'] as const;
export type ArtifactState = (typeof artifactStates)[number];

/** Every version in the registry, with its manifest facts and its state on this deployment. */
export const adminModelSchema = z
  .object({
    id: modelIdSchema,
    name: z.string(),
    version: z.string(),
    created: z.iso.datetime({ offset: true }).describe('When the version was registered (its manifest)'),
    description: z.string(),
    license: z.string(),
    dimensions: z.number().int().positive(),
    maxTokens: z.number().int().positive(),
    quantization: z.enum(['none', 'int8']),
    tokenizer: z.enum(['sentencepiece-unigram', 'wordpiece']),
    pooling: z.enum(['in-graph-mean', 'mean', 'cls']),
    source: z.enum(['npm-tfjs', 'huggingface']).describe('Where its artifacts come from'),
    configured: z.boolean().describe('Named in MODELS: served by this deployment'),
    artifacts: z
      .enum(artifactStates)
      .describe(
        'Under DATA_DIR/models: `present` (every sha256 as pinned), `missing` (a file absent, or a version ' +
          'not pinned yet), `corrupt` (a file differs from its pinned sha256)',
      ),
    loadedBy: z
      .array(
        z.object({
          app: z.enum(['api', 'worker']),
          instance: z.string().describe('`host:pid:…` of the process'),
        }),
      )
      .describe('The live processes that have it loaded: this API process, and workers by their heartbeat'),
  })
  .meta({
    example: {
      id: 'use-lite@1',
      name: 'use-lite',
      version: '1',
      created: '2026-11-25T10:44:13Z',
      description:
        'Universal Sentence Encoder lite, converted from TF.js to ONNX by Tributary’s own converter.',
      license: 'Apache-2.0',
      dimensions: 512,
      maxTokens: 128,
      quantization: 'none',
      tokenizer: 'sentencepiece-unigram',
      pooling: 'in-graph-mean',
      source: 'npm-tfjs',
      configured: true,
      artifacts: 'present',
      loadedBy: [
        { app: 'api', instance: 'api-7d9f:1:3f2a9c1e' },
        { app: 'worker', instance: 'worker-use-lite-1:1:9b0e44d2' },
      ],
    },
  });
export type AdminModelView = z.infer<typeof adminModelSchema>;

export const adminModelListSchema = z
  .object({ data: z.array(adminModelSchema) })
  .meta({ example: { data: [adminModelSchema.meta()?.example] } });
export type AdminModelList = z.infer<typeof adminModelListSchema>;
