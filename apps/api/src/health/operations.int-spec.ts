import { ThreadedEmbeddedVectorStore } from '@tributary/vector-store';
import { waitUntil } from '@tributary/testing';
import { VectorStoreService } from '../collections/vector-store.service';
import { startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('operations endpoints', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('live and ready answer 200 when the database and Redis are up', async () => {
    expect((await api.request({ method: 'GET', url: '/health/live' })).status).toBe(200);
    const ready = await api.request({ method: 'GET', url: '/health/ready' });
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: { database: 'ok', redis: 'ok', models: 'ok', vectors: 'ok' },
    });
  });

  it('/metrics exposes request durations by route template and status, without ids', async () => {
    await api.request({
      method: 'GET',
      url: '/v1/admin/tenants/00000000-0000-4000-8000-000000000000',
      key: TEST_ADMIN_KEY,
    });
    const metrics = await api.request({ method: 'GET', url: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    const text = String(metrics.body);
    expect(text).toContain(
      'tributary_http_request_duration_seconds_count{app="api",method="GET",route="/v1/admin/tenants/:id",status="404"} 1',
    );
    expect(text).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(text).toContain('tributary_process_nodejs_heap_space_size_used_bytes');
  });

  it('serves the OpenAPI document with schemas, errors and examples for every operation', async () => {
    const doc = await api.request({ method: 'GET', url: '/docs-json' });
    expect(doc.status).toBe(200);
    const paths = doc.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/admin/tenants',
        '/v1/admin/tenants/{id}',
        '/v1/admin/tenants/{id}/keys',
        '/v1/admin/keys/{id}',
        '/v1/me',
        '/v1/keys',
        '/v1/keys/{id}',
        '/health/ready',
        '/v1/embeddings',
        '/v1/models',
        '/v1/models/{id}',
        '/v1/admin/models',
      ]),
    );
    for (const [path, operations] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const statuses = Object.keys(operation.responses);
        expect({ path, method, ok: statuses.some((s) => s.startsWith('2')) }).toEqual({
          path,
          method,
          ok: true,
        });
        if (path.startsWith('/v1/')) {
          expect({ path, method, errors: statuses.some((s) => s.startsWith('4')) }).toEqual({
            path,
            method,
            errors: true,
          });
        }
      }
    }
    const schemas = doc.body.components.schemas as Record<string, { example?: unknown }>;
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['CreateTenantDto', 'TenantDto_Output', 'CreatedApiKeyDto_Output']),
    );
    // The error body every route documents is OpenAI's error object plus ours.
    expect(
      Object.keys(
        (schemas['ErrorBody'] as { properties: { error: { properties: object } } }).properties.error
          .properties,
      ),
    ).toEqual(expect.arrayContaining(['code', 'message', 'type', 'param', 'details', 'requestId']));
    for (const [name, schema] of Object.entries(schemas)) {
      expect({ name, hasExample: schema.example !== undefined }).toEqual({ name, hasExample: true });
    }
    const ui = await api.request({ method: 'GET', url: '/docs' });
    expect(ui.status).toBe(200);
    expect(String(ui.body)).toContain('swagger');
  });

  // Last: it leaves this API without a vector store.
  it("ready answers 503 naming the vector store once the embedded store's thread has died", async () => {
    const vectors = api.app.get(VectorStoreService);
    await (vectors.store as ThreadedEmbeddedVectorStore).kill();
    await waitUntil('the store to notice its thread exited', () =>
      Promise.resolve(vectors.failure !== undefined),
    );
    const ready = await api.request({ method: 'GET', url: '/health/ready' });
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({
      code: 'unavailable',
      details: { checks: { database: 'ok', redis: 'ok', models: 'ok', vectors: 'failing' } },
    });
    expect(JSON.stringify(ready.body)).not.toContain('thread');
  });
});
