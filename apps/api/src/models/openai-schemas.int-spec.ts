import { z } from 'zod';
import { createTenantWithKey, startApi, type ApiHarness, type TestResponse } from '../testing/api-harness';

/**
 * OpenAI's published schemas (openai-openapi `openapi.yaml`, components.schemas), as the `openai`
 * package 6.30.1 mirrors them: `node_modules/openai/resources/embeddings.d.ts` (CreateEmbeddingResponse,
 * Embedding), `resources/models.d.ts` (Model; ListModelsResponse is the page `models.list()` reads:
 * `{ object: 'list', data: Model[] }`) and `resources/shared.d.ts` (ErrorObject, the `error` of
 * ErrorResponse). Every field is required there; none forbids extra fields, so ours are allowed.
 */
const Embedding = z.object({
  index: z.number().int(),
  embedding: z.array(z.number()),
  object: z.literal('embedding'),
});
const CreateEmbeddingResponse = z.object({
  data: z.array(Embedding),
  model: z.string(),
  object: z.literal('list'),
  usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
});
const Model = z.object({
  id: z.string(),
  created: z.number().int(),
  object: z.literal('model'),
  owned_by: z.string(),
});
const ListModelsResponse = z.object({ object: z.literal('list'), data: z.array(Model) });
const ErrorObject = z.object({
  code: z.string().nullable(),
  message: z.string(),
  param: z.string().nullable(),
  type: z.string(),
});
const ErrorResponse = z.object({ error: ErrorObject });

function conforms(schema: z.ZodType, res: TestResponse): void {
  const parsed = schema.safeParse(res.body);
  if (!parsed.success)
    throw new Error(`${JSON.stringify(res.body)} does not conform: ${parsed.error.message}`);
}

describe("OpenAI-compatible answers conform to OpenAI's published schemas (real API)", () => {
  let api: ApiHarness;
  let key: string;

  beforeAll(async () => {
    api = await startApi();
    ({ key } = await createTenantWithKey(api, 'schema-checker', {
      rateLimitPerSecond: 1000,
      rateLimitBurst: 1000,
    }));
  }, 60_000);
  afterAll(() => api.close());

  /** `bearer` null: no Authorization header. */
  const embed = (body: unknown, bearer: string | null = key) =>
    api.request({ method: 'POST', url: '/v1/embeddings', body, ...(bearer ? { key: bearer } : {}) });
  const get = (url: string, bearer: string | null = key) =>
    api.request({ method: 'GET', url, ...(bearer ? { key: bearer } : {}) });

  it('CreateEmbeddingResponse, ListModelsResponse and Model for the successes', async () => {
    const embedded = await embed({ model: 'use-lite@1', input: ['one', 'two'], encoding_format: 'float' });
    expect(embedded.status).toBe(200);
    conforms(CreateEmbeddingResponse, embedded);

    const list = await get('/v1/models');
    expect(list.status).toBe(200);
    conforms(ListModelsResponse, list);
    expect(list.body.data.map((m: { id: string }) => m.id)).toEqual(['use-lite@1']);

    const one = await get('/v1/models/use-lite@1');
    expect(one.status).toBe(200);
    conforms(Model, one);
  });

  it('ErrorResponse for 401 (bad key), with our code and request id kept', async () => {
    for (const res of [
      await embed({ input: 'x' }, 'trb_not-a-real-key'),
      await get('/v1/models', 'trb_not-a-real-key'),
      await get('/v1/models/use-lite@1', null),
    ]) {
      expect(res.status).toBe(401);
      conforms(ErrorResponse, res);
      expect(res.body.error).toMatchObject({
        type: 'invalid_request_error',
        param: null,
        code: 'unauthorized',
      });
      expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
    }
  });

  it('ErrorResponse for 422 (bad input), param naming the first bad field', async () => {
    const cases: [unknown, string][] = [
      [{ input: [] }, 'input'],
      [{ input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ input: 'x', model: 'nope@1' }, 'model'],
      [{ input: 'x', dimensions: 3 }, 'dimensions'],
    ];
    for (const [body, param] of cases) {
      const res = await embed(body);
      expect(res.status).toBe(422);
      conforms(ErrorResponse, res);
      expect(res.body.error).toMatchObject({
        type: 'invalid_request_error',
        param,
        code: 'validation_failed',
      });
      expect(res.body.error.details[0].path).toBe(param);
    }
    // A problem with the body as a whole names no field.
    const unknownField = await embed({ input: 'x', colour: 'blue' });
    expect(unknownField.status).toBe(422);
    conforms(ErrorResponse, unknownField);
    expect(unknownField.body.error.param).toBeNull();
  });

  it('ErrorResponse for 404 (unknown model)', async () => {
    const res = await get('/v1/models/nope@1');
    expect(res.status).toBe(404);
    conforms(ErrorResponse, res);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'not_found' });
  });

  it('ErrorResponse for 429 (rate limited), typed as OpenAI types request-rate limits', async () => {
    const { key: slow } = await createTenantWithKey(api, 'schema-slow', {
      rateLimitPerSecond: 1,
      rateLimitBurst: 1,
    });
    expect((await get('/v1/models', slow)).status).toBe(200);
    const limited = await get('/v1/models', slow);
    expect(limited.status).toBe(429);
    conforms(ErrorResponse, limited);
    expect(limited.body.error).toMatchObject({ type: 'requests', param: null, code: 'rate_limited' });
  });
});
