import { hashSecret } from '../auth/api-key-secret';
import { PrincipalCache } from '../auth/principal-cache';
import { ApiKeyRepository } from '@tributary/db';
import { createRedis } from '@tributary/redis';
import { PrismaService } from '@tributary/db';
import { startRedisServer, type RedisServer } from '@tributary/testing';
import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('API keys (real PostgreSQL + Redis)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it('create → use → revoke → 401, at once', async () => {
    const { tenantId, key, keyId } = await createTenantWithKey(api, 'lifecycle');
    expect(key).toMatch(/^trb_[A-Za-z0-9_-]{43}$/);

    const me = await api.request({ method: 'GET', url: '/v1/me', key });
    expect(me.status).toBe(200);
    expect(me.body.tenant.id).toBe(tenantId);
    expect(me.body.key).toEqual({ id: keyId, name: 'test', prefix: key.slice(0, 12) });

    const revoked = await api.request({
      method: 'DELETE',
      url: `/v1/admin/keys/${keyId}`,
      key: TEST_ADMIN_KEY,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();

    const after = await api.request({ method: 'GET', url: '/v1/me', key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it('stays revoked even when another replica re-caches the key in a race with the revocation', async () => {
    const { key, keyId } = await createTenantWithKey(api, 'race');
    const cached = await api.request({ method: 'GET', url: '/v1/me', key });
    expect(cached.status).toBe(200);
    const principal = { ...(await api.app.get(ApiKeyRepository).findActiveByHash(hashSecret(key)))! };
    expect(
      (await api.request({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, key: TEST_ADMIN_KEY })).status,
    ).toBe(200);
    // A replica that read the key before the revocation writes its (stale) cache entry now.
    const { tenant, ...keyOnly } = principal;
    await api.app.get(PrincipalCache).set(hashSecret(key), { tenant, key: keyOnly });
    expect((await api.request({ method: 'GET', url: '/v1/me', key })).status).toBe(401);
  });

  it('stops working at once on another replica that holds the key in memory', async () => {
    // A second API process on the same database and Redis: a replica.
    const replica = await startApi({
      DATABASE_URL: api.db.url,
      REDIS_PREFIX: api.config.REDIS_PREFIX,
    });
    try {
      const { key, keyId } = await createTenantWithKey(api, 'replicas');
      expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
      expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
      expect(replica.app.get(PrincipalCache).getLocal(hashSecret(key))).toBeDefined();
      expect(
        (await api.request({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, key: TEST_ADMIN_KEY })).status,
      ).toBe(200);
      const refused = await replica.request({ method: 'GET', url: '/v1/me', key });
      expect(refused.status).toBe(401);
      expect(replica.app.get(PrincipalCache).getLocal(hashSecret(key))).toBeUndefined();
    } finally {
      await replica.close();
    }
  });

  it('stores only a hash: listings show prefixes, never secrets', async () => {
    const { tenantId, key } = await createTenantWithKey(api, 'listing');
    const list = await api.request({
      method: 'GET',
      url: `/v1/admin/tenants/${tenantId}/keys`,
      key: TEST_ADMIN_KEY,
    });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0].prefix).toBe(key.slice(0, 12));
    expect(JSON.stringify(list.body)).not.toContain(key);
    expect(list.body.data[0]).not.toHaveProperty('secret');

    const rows = await api.app.get(PrismaService).apiKey.findMany({ where: { tenantId } });
    expect(rows[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]?.hash).not.toContain(key);
  });

  it('answers 404 for keys of an unknown tenant or an unknown key', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const create = await api.request({
      method: 'POST',
      url: `/v1/admin/tenants/${missing}/keys`,
      key: TEST_ADMIN_KEY,
      body: {},
    });
    expect(create.status).toBe(404);
    const list = await api.request({
      method: 'GET',
      url: `/v1/admin/tenants/${missing}/keys`,
      key: TEST_ADMIN_KEY,
    });
    expect(list.status).toBe(404);
    const revoke = await api.request({
      method: 'DELETE',
      url: `/v1/admin/keys/${missing}`,
      key: TEST_ADMIN_KEY,
    });
    expect(revoke.status).toBe(404);
  });

  it("never shows one tenant another tenant's resources", async () => {
    const a = await createTenantWithKey(api, 'tenant-a');
    const b = await createTenantWithKey(api, 'tenant-b');

    const own = await api.request({ method: 'GET', url: `/v1/keys/${a.keyId}`, key: a.key });
    expect(own.status).toBe(200);
    expect(own.body.tenantId).toBe(a.tenantId);

    const other = await api.request({ method: 'GET', url: `/v1/keys/${b.keyId}`, key: a.key });
    expect(other.status).toBe(404);
    const missing = await api.request({
      method: 'GET',
      url: '/v1/keys/00000000-0000-4000-8000-000000000000',
      key: a.key,
    });
    expect(other.body.error.code).toBe(missing.body.error.code);
    expect(other.body.error.message.replace(b.keyId, 'ID')).toBe(
      missing.body.error.message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
    );

    const listA = await api.request({ method: 'GET', url: '/v1/keys', key: a.key });
    expect(listA.body.data.map((k: { id: string }) => k.id)).toEqual([a.keyId]);

    const adminRoute = await api.request({
      method: 'GET',
      url: `/v1/admin/tenants/${b.tenantId}`,
      key: a.key,
    });
    expect(adminRoute.status).toBe(401);
  });

  it('rejects malformed authorization headers', async () => {
    for (const header of ['Basic abc', 'Bearer', 'trb_x', 'Bearer trb_not-a-real-key']) {
      const res = await api.request({ method: 'GET', url: '/v1/me', headers: { authorization: header } });
      expect(res.status).toBe(401);
    }
  });
});

describe('revocation when Redis (out of memory) or PostgreSQL refuses its write', () => {
  // A Redis of its own: making it refuse writes must not disturb other test files.
  let redis: RedisServer;
  let api: ApiHarness;
  let replica: ApiHarness;
  let control: ReturnType<typeof createRedis>;
  beforeAll(async () => {
    redis = await startRedisServer();
    api = await startApi({ REDIS_URL: redis.url });
    replica = await startApi({
      REDIS_URL: redis.url,
      DATABASE_URL: api.db.url,
      REDIS_PREFIX: api.config.REDIS_PREFIX,
    });
    control = createRedis(redis.url, 'worker', 'test-control');
  }, 60_000);
  afterAll(async () => {
    control.disconnect();
    await replica.close();
    await api.close();
    await redis.stop();
  });

  it('fails the call with 503 and leaves the key consistently unrevoked; a retry revokes it everywhere at once', async () => {
    const { key, keyId } = await createTenantWithKey(api, 'oom');
    // Another instance holds the principal, in its memory and in Redis.
    expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
    expect(replica.app.get(PrincipalCache).getLocal(hashSecret(key))).toBeDefined();

    // Redis now refuses every write that needs memory (SET, a MULTI holding one) with -OOM.
    await control.config('SET', 'maxmemory-policy', 'noeviction');
    await control.config('SET', 'maxmemory', '1');
    let failed;
    try {
      failed = await api.request({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, key: TEST_ADMIN_KEY });
    } finally {
      await control.config('SET', 'maxmemory', '0');
    }
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('unavailable');
    expect(failed.body.error.message).toMatch(/not revoked/i);
    expect(Number(failed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Not half done: PostgreSQL agrees with what every cache still says (the key works).
    const row = await api.app.get(PrismaService).apiKey.findUnique({ where: { id: keyId } });
    expect(row?.revokedAt).toBeNull();
    expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);

    const revoked = await api.request({
      method: 'DELETE',
      url: `/v1/admin/keys/${keyId}`,
      key: TEST_ADMIN_KEY,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    // The replica still holds the principal in memory; its next request is refused all the same.
    expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(401);
    expect((await api.request({ method: 'GET', url: '/v1/me', key })).status).toBe(401);
  }, 60_000);

  it('takes the marker back when PostgreSQL refuses the revocation: 503, and the key works everywhere as the database says', async () => {
    const { key, keyId } = await createTenantWithKey(api, 'pg-refuses');
    expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
    const prisma = api.app.get(PrismaService);
    // The database itself refuses the write (a trigger raising on any update of the key table).
    await prisma.$executeRawUnsafe(
      `CREATE FUNCTION refuse_key_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`,
    );
    await prisma.$executeRawUnsafe(
      'CREATE TRIGGER refuse_key_updates BEFORE UPDATE ON api_key FOR EACH ROW EXECUTE FUNCTION refuse_key_updates()',
    );
    let failed;
    try {
      failed = await api.request({ method: 'DELETE', url: `/v1/admin/keys/${keyId}`, key: TEST_ADMIN_KEY });
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER refuse_key_updates ON api_key');
      await prisma.$executeRawUnsafe('DROP FUNCTION refuse_key_updates()');
    }
    expect(failed.status).toBe(503);
    expect(failed.body.error.message).toMatch(/not revoked/i);
    expect((await prisma.apiKey.findUnique({ where: { id: keyId } }))?.revokedAt).toBeNull();
    expect(await control.exists(replica.app.get(PrincipalCache).revokedMarker(hashSecret(key)))).toBe(0);
    expect((await replica.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
    expect((await api.request({ method: 'GET', url: '/v1/me', key })).status).toBe(200);
  }, 60_000);
});
