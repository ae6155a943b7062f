import { ApiKeyRepository } from '@tributary/db';
import { signWebhook } from '../streams/webhook-signature';
import {
  createTenantWithKey,
  createTextStream,
  startApi,
  TEST_ADMIN_KEY,
  type ApiHarness,
} from '../testing/api-harness';

const LIMIT = 5;

function badKey(i: number): string {
  return `trb_not-a-real-key-${i}-${'x'.repeat(30)}`;
}

describe('failed authentications: negative cache and a per-address limit (real Redis, PostgreSQL)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ AUTH_FAILURES_PER_ADDRESS: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: '600' });
  }, 60_000);
  afterAll(() => api.close());

  const me = (key: string, remoteAddress: string, headers?: Record<string, string>) =>
    api.request({ method: 'GET', url: '/v1/me', key, remoteAddress, ...(headers ? { headers } : {}) });

  it('answers 429 with Retry-After once an address has failed too often; other addresses are unaffected', async () => {
    const good = await createTenantWithKey(api, 'good');
    // Used once from the address about to be limited: a key verified recently keeps working there.
    expect((await me(good.key, '10.0.0.1')).status).toBe(200);

    for (let i = 0; i < LIMIT; i++) expect((await me(badKey(i), '10.0.0.1')).status).toBe(401);
    const limited = await me(badKey(LIMIT), '10.0.0.1');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(600);

    expect((await me(badKey(100), '10.0.0.2')).status).toBe(401);
    expect((await me(good.key, '10.0.0.1')).status).toBe(200);

    // A key not verified recently is not looked up from the limited address, but works at once elsewhere.
    const fresh = await createTenantWithKey(api, 'fresh');
    expect((await me(fresh.key, '10.0.0.1')).status).toBe(429);
    expect((await me(fresh.key, '10.0.0.3')).status).toBe(200);
  });

  it('looks a repeated bad key up in PostgreSQL once, not on every request', async () => {
    const repository = api.app.get(ApiKeyRepository);
    const lookups = jest.spyOn(repository, 'findActiveByHash');
    try {
      // Below the address limit, so every answer is a 401 that had to know the key is bad.
      for (let i = 0; i < LIMIT - 1; i++) expect((await me(badKey(999), '10.0.1.1')).status).toBe(401);
      expect(lookups).toHaveBeenCalledTimes(1);
      // The address limit then stops even new bad keys before PostgreSQL.
      for (let i = 0; i < 20; i++) await me(badKey(2000 + i), '10.0.1.1');
      expect(lookups).toHaveBeenCalledTimes(2);
    } finally {
      lookups.mockRestore();
    }
  });

  it('limits failed admin keys per address too, refusing even the right key from that address', async () => {
    const admin = (key: string, remoteAddress: string) =>
      api.request({ method: 'GET', url: '/v1/admin/tenants', key, remoteAddress });
    for (let i = 0; i < LIMIT; i++)
      expect((await admin(`trb_admin_wrong-${i}-0123456789abcdef`, '10.1.0.1')).status).toBe(401);
    const limited = await admin(TEST_ADMIN_KEY, '10.1.0.1');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await admin(TEST_ADMIN_KEY, '10.1.0.2')).status).toBe(200);
  });

  it('limits bad webhook signatures per address', async () => {
    const { key } = await createTenantWithKey(api, 'hooks');
    const stream = await createTextStream(api, key, 'hooked');
    const payload = JSON.stringify({ items: [{ id: 'h1', text: 'hello' }] });
    const hook = (secret: string, remoteAddress: string) => {
      const timestamp = Math.floor(Date.now() / 1000);
      return api.request({
        method: 'POST',
        url: `/v1/hooks/${stream.id}`,
        payload,
        remoteAddress,
        headers: {
          'content-type': 'application/json',
          'x-tributary-timestamp': String(timestamp),
          'x-tributary-signature': signWebhook(secret, timestamp, payload),
        },
      });
    };
    for (let i = 0; i < LIMIT; i++) expect((await hook('whsec_wrong', '10.2.0.1')).status).toBe(401);
    expect((await hook('whsec_wrong', '10.2.0.1')).status).toBe(429);
    expect((await hook(stream.webhook.secret, '10.2.0.2')).status).toBe(202);
  });

  it('ignores X-Forwarded-For unless TRUST_PROXY says to trust it', async () => {
    // Default: every request below comes from one peer whatever the header claims.
    for (let i = 0; i < LIMIT; i++)
      await me(badKey(3000 + i), '10.3.0.1', { 'x-forwarded-for': `192.0.2.${i + 1}` });
    expect((await me(badKey(3100), '10.3.0.1', { 'x-forwarded-for': '192.0.2.200' })).status).toBe(429);
  });
});

describe('failed-authentication limit behind a trusted proxy (TRUST_PROXY=true)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ AUTH_FAILURES_PER_ADDRESS: String(LIMIT), TRUST_PROXY: 'true' });
  }, 60_000);
  afterAll(() => api.close());

  it('limits the forwarded client address, not the proxy', async () => {
    const me = (key: string, client: string) =>
      api.request({
        method: 'GET',
        url: '/v1/me',
        key,
        remoteAddress: '10.9.9.9',
        headers: { 'x-forwarded-for': client },
      });
    for (let i = 0; i < LIMIT; i++) expect((await me(badKey(i), '198.51.100.7')).status).toBe(401);
    expect((await me(badKey(LIMIT), '198.51.100.7')).status).toBe(429);
    // Another client behind the same proxy is not limited.
    expect((await me(badKey(LIMIT + 1), '198.51.100.8')).status).toBe(401);
  });
});
