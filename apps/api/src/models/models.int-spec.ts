import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI, { NotFoundError } from 'openai';
import { redisKeys } from '@tributary/redis';
import { RedisService } from '../redis/redis.module';
import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

/**
 * A DATA_DIR whose models/ holds use-lite@1 as built, use-lite-int8@1 with a vocabulary that is not
 * the pinned one, and none of the hub models. Files are hard links of the built ones (read only
 * here) or new files, so the shared build is never written to.
 */
function dataDirWithTamperedInt8(): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'models-int-'));
  const link = (name: string, files: string[]) => {
    const dir = path.join(dataDir, 'models', name, '1');
    mkdirSync(dir, { recursive: true });
    for (const file of files) linkSync(path.resolve('.data/models', name, '1', file), path.join(dir, file));
    return dir;
  };
  link('use-lite', readdirSync(path.resolve('.data/models/use-lite/1')));
  const int8 = link('use-lite-int8', ['model.onnx']);
  writeFileSync(path.join(int8, 'vocab.json'), '[]');
  return dataDir;
}

describe('GET /v1/models and /v1/admin/models (real API, model, Redis, PostgreSQL)', () => {
  let api: ApiHarness;
  let base: string;
  let key: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = dataDirWithTamperedInt8();
    api = await startApi({ DATA_DIR: dataDir });
    base = await api.listen();
    ({ key } = await createTenantWithKey(api, 'model-lister', {
      rateLimitPerSecond: 1000,
      rateLimitBurst: 1000,
    }));
  }, 60_000);

  afterAll(async () => {
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('works with the official openai client: models.list(), models.retrieve() and an embedding of the model listed', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    const listed = [];
    for await (const model of client.models.list()) listed.push(model);
    // The manifest's created (2026-11-25T10:44:13Z) in Unix seconds: the same on every deployment.
    const useLite = {
      id: 'use-lite@1',
      object: 'model',
      created: Date.parse('2026-11-25T10:44:13Z') / 1000,
      owned_by: 'tributary',
      dimensions: 512,
      maxTokens: 128,
      quantization: 'none',
    };
    expect(listed).toEqual([useLite]);
    expect(await client.models.retrieve('use-lite@1')).toEqual(useLite);

    const embedded = await client.embeddings.create({ model: listed[0]!.id, input: 'listed, then used' });
    expect(embedded.model).toBe('use-lite@1');
    expect(embedded.data[0]!.embedding).toHaveLength(useLite.dimensions);
  });

  it('answers a version it does not serve with a 404 in the OpenAI error shape', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${base}/v1`, maxRetries: 0 });
    for (const id of ['nope@1', 'use-lite-int8@1', 'not even an id']) {
      const error = await client.models.retrieve(id).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(NotFoundError);
      const notFound = error as NotFoundError;
      expect(notFound.type).toBe('invalid_request_error');
      expect(notFound.code).toBe('not_found');
      expect(notFound.param).toBeNull();
      expect(notFound.message).toContain(
        `The model ${id} does not exist or is not served here; served: use-lite@1`,
      );
    }
  });

  it('lists every registered version with its facts and state on this deployment', async () => {
    const prefix = api.config.REDIS_PREFIX;
    const now = Date.now();
    // Two workers' heartbeats as ModelHeartbeat writes them: one live, one that stopped beating.
    await api.app.get(RedisService).client.hset(redisKeys(prefix).modelsLoaded, {
      'worker-a:7:live': JSON.stringify({
        app: 'worker',
        models: ['use-lite@1', 'use-lite-int8@1'],
        expiresAt: now + 30_000,
      }),
      'worker-b:8:dead': JSON.stringify({ app: 'worker', models: ['use-lite@1'], expiresAt: now - 1 }),
    });

    const res = await api.request({ method: 'GET', url: '/v1/admin/models', key: TEST_ADMIN_KEY });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.data.map((m: { id: string }) => [m.id, m]));
    expect(Object.keys(byId)).toEqual([
      'all-minilm-l6-v2@1',
      'bge-small-en-v1.5@1',
      'e5-small-v2@1',
      'use-lite-int8@1',
      'use-lite@1',
    ]);
    expect(byId['use-lite@1']).toEqual({
      id: 'use-lite@1',
      name: 'use-lite',
      version: '1',
      created: '2026-11-25T10:44:13Z',
      description: expect.stringContaining('Universal Sentence Encoder lite'),
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
        { app: 'api', instance: expect.stringMatching(/^.+:\d+:[0-9a-f]{8}$/) },
        { app: 'worker', instance: 'worker-a:7:live' },
      ],
    });
    expect(byId['use-lite-int8@1']).toMatchObject({
      quantization: 'int8',
      configured: false,
      artifacts: 'corrupt',
      loadedBy: [{ app: 'worker', instance: 'worker-a:7:live' }],
    });
    expect(byId['e5-small-v2@1']).toMatchObject({
      source: 'huggingface',
      tokenizer: 'wordpiece',
      pooling: 'mean',
      configured: false,
      artifacts: 'missing',
      loadedBy: [],
    });
  });

  it('keeps the registry to the admin key', async () => {
    for (const bearer of [key, undefined]) {
      const res = await api.request({
        method: 'GET',
        url: '/v1/admin/models',
        ...(bearer ? { key: bearer } : {}),
      });
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({
        code: 'unauthorized',
        type: 'invalid_request_error',
        param: null,
      });
    }
  });
});
