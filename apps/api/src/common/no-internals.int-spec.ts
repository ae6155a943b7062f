import { startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import {
  createTenantWithKey,
  startApi,
  TEST_ADMIN_KEY,
  type ApiHarness,
  type LogLine,
} from '../testing/api-harness';

/** Pieces of ioredis's and the socket's error text: none may reach a caller. */
const INTERNAL_TEXT = [
  /ECONNREFUSED/,
  /writeable/i,
  /enableOfflineQueue/,
  /Connection is closed/,
  /127\.0\.0\.1/,
];

describe('no internals to callers: with Redis stopped, answers carry stable messages and the log the detail', () => {
  let redis: RedisServer;
  let api: ApiHarness;
  beforeAll(async () => {
    redis = await startRedisServer();
    api = await startApi({ REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
  }, 60_000);
  afterAll(async () => {
    await api.close();
    await redis.stop();
  });

  /** The warn line the error filter wrote for a request, with the internal error it logged. */
  const loggedFor = (requestId: string): LogLine =>
    api.logs().find((line) => line.requestId === requestId && line.err !== undefined);

  it('/health/ready names failing components only, and each refused request is logged by its id', async () => {
    const tenant = await createTenantWithKey(api, 'internals');
    const stream = await api.request({
      method: 'POST',
      url: '/v1/streams',
      key: tenant.key,
      body: { name: 'internals', kind: 'text' },
    });
    expect(stream.status).toBe(201);
    await redis.stop();

    const ready = await api.request({ method: 'GET', url: '/health/ready' });
    expect(ready.status).toBe(503);
    expect(ready.body.error).toEqual({
      code: 'unavailable',
      message: 'Not ready: redis failing',
      type: 'server_error',
      param: null,
      details: { checks: { database: 'ok', redis: 'failing', models: 'ok', vectors: 'ok' } },
      requestId: ready.headers['x-request-id'],
    });

    const refused = [
      ready,
      await api.request({ method: 'GET', url: '/v1/me', key: tenant.key }),
      await api.request({ method: 'GET', url: '/v1/admin/tenants', key: TEST_ADMIN_KEY }),
      await api.request({
        method: 'POST',
        url: `/v1/hooks/${stream.body.id}`,
        body: { items: [{ id: 'a', text: 'hello' }] },
      }),
    ];
    for (const res of refused) {
      expect(res.status).toBe(503);
      const body = JSON.stringify(res.body);
      for (const text of INTERNAL_TEXT) expect(body).not.toMatch(text);
      // The detail is in the log, under the request id the caller was given.
      const line = loggedFor(String(res.headers['x-request-id']));
      expect(line).toEqual(
        expect.objectContaining({
          level: 'warn',
          code: 'unavailable',
          err: expect.objectContaining({ message: expect.any(String) }),
        }),
      );
      expect(body).not.toContain(line.err.message);
    }
    // What the readiness log line says, and the caller did not learn: which check failed, and how.
    expect(loggedFor(String(ready.headers['x-request-id'])).err.message).toMatch(/^redis: /);

    // The API's shutdown waits for its queue connections: Redis comes back before it closes.
    redis = await startRedisServer({ port: redis.port });
    await waitUntil(
      'the API to be ready again',
      async () => (await api.request({ method: 'GET', url: '/health/ready' })).status === 200,
      30_000,
    );
  }, 90_000);
});
