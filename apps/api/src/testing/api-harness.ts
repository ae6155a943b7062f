import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, type Config } from '@tributary/config';
import { createTestDatabase, testRedisUrl, uniqueRedisPrefix, type TestDatabase } from '@tributary/testing';
import { createApp } from '../create-app';

export const TEST_ADMIN_KEY = 'trb_admin_integration-test-key-0123456789';
/** The key webhook secrets are encrypted with in tests (`<id>:<base64 of 32 bytes>`), so none is generated under .data. */
export const TEST_SECRETS_KEY = `test-k1:${Buffer.alloc(32, 7).toString('base64')}`;

export interface TestResponse {
  status: number;
  // Tests read arbitrary response bodies; each assertion states the shape it expects.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Record<string, unknown>;
}

export interface TestRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  url: string;
  key?: string;
  body?: unknown;
  payload?: string | Buffer;
  headers?: Record<string, string>;
  /** The TCP peer's address the request appears to come from (default 127.0.0.1). */
  remoteAddress?: string;
}

/** One JSON log line; tests read the fields they assert on. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LogLine = any;

export interface ApiHarness {
  app: NestFastifyApplication;
  config: Config;
  db: TestDatabase;
  /** Sends a request through the real Fastify stack (no socket). */
  request(options: TestRequest): Promise<TestResponse>;
  /**
   * The log lines the app wrote so far, parsed (pass a LOG_LEVEL in `env` to get any), and the raw
   * text, for assertions that a secret appears nowhere.
   */
  logs(): LogLine[];
  logText(): string;
  /** Starts listening on a free loopback port (for real HTTP clients); returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The API on a database and Redis prefix of its own, against the real services of the test run. */
export async function startApi(env: Record<string, string> = {}): Promise<ApiHarness> {
  const db = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: uniqueRedisPrefix(),
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    SECRETS_ENCRYPTION_KEY: TEST_SECRETS_KEY,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    DATABASE_POOL_SIZE: '3',
    // Models are built into ./.data/models by the test run's global setup.
    DATA_DIR: '.data',
    MODELS: 'use-lite@1',
    INFERENCE_SESSIONS: '1',
    INFERENCE_INTRA_OP_THREADS: '1',
    ...env,
  });
  const lines: string[] = [];
  const app = await createApp(config, { logDestination: { write: (line: string) => lines.push(line) } });
  await app.init();
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.ready();
  return {
    app,
    config,
    db,
    async request({ method, url, key, body, payload, headers, remoteAddress }) {
      const response = await fastify.inject({
        method,
        url,
        ...(remoteAddress ? { remoteAddress } : {}),
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined
          ? { payload: JSON.stringify(body) }
          : payload !== undefined
            ? { payload }
            : {}),
      });
      let parsed: unknown = response.body;
      try {
        parsed = response.body ? JSON.parse(response.body) : undefined;
      } catch {
        // not JSON (metrics, docs): leave as text
      }
      return { status: response.statusCode, body: parsed, headers: response.headers };
    },
    logs: (): LogLine[] => lines.map((line): LogLine => JSON.parse(line)),
    logText: () => lines.join(''),
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.getHttpServer().address();
      if (!address || typeof address === 'string') throw new Error('the API is not listening on a TCP port');
      return `http://127.0.0.1:${address.port}`;
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** Creates a tenant and a key through the admin API; returns both. */
export async function createTenantWithKey(
  api: ApiHarness,
  name: string,
  limits?: { rateLimitPerSecond?: number; rateLimitBurst?: number },
): Promise<{ tenantId: string; key: string; keyId: string }> {
  const tenant = await api.request({
    method: 'POST',
    url: '/v1/admin/tenants',
    key: TEST_ADMIN_KEY,
    body: { name, ...(limits ? { limits } : {}) },
  });
  if (tenant.status !== 201) throw new Error(`tenant creation failed: ${JSON.stringify(tenant.body)}`);
  const key = await api.request({
    method: 'POST',
    url: `/v1/admin/tenants/${tenant.body.id}/keys`,
    key: TEST_ADMIN_KEY,
    body: { name: 'test' },
  });
  if (key.status !== 201) throw new Error(`key creation failed: ${JSON.stringify(key.body)}`);
  return { tenantId: tenant.body.id, key: key.body.secret, keyId: key.body.id };
}

/** Creates a text stream (and its collection of the same name) with the tenant's key; returns the created stream as the API answered it. */
export async function createTextStream(
  api: ApiHarness,
  key: string,
  name: string,
): Promise<{ id: string; counters: Record<string, number>; webhook: { secret: string } }> {
  const stream = await api.request({ method: 'POST', url: '/v1/streams', key, body: { name, kind: 'text' } });
  if (stream.status !== 201) throw new Error(`stream creation failed: ${JSON.stringify(stream.body)}`);
  return stream.body as { id: string; counters: Record<string, number>; webhook: { secret: string } };
}
