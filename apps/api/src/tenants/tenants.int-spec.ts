import { startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

describe('admin tenants API (real PostgreSQL + Redis)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ DEFAULT_RATE_LIMIT_PER_SECOND: '7', DEFAULT_RATE_LIMIT_BURST: '9' });
  });
  afterAll(() => api.close());

  const admin = { key: TEST_ADMIN_KEY };

  it('creates a tenant with the configured default limits and reads it back', async () => {
    const created = await api.request({
      ...admin,
      method: 'POST',
      url: '/v1/admin/tenants',
      body: { name: 'acme' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'acme',
      limits: { rateLimitPerSecond: 7, rateLimitBurst: 9 },
    });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);

    const fetched = await api.request({
      ...admin,
      method: 'GET',
      url: `/v1/admin/tenants/${created.body.id}`,
    });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it('honours limits given at creation and changes them with PATCH', async () => {
    const created = await api.request({
      ...admin,
      method: 'POST',
      url: '/v1/admin/tenants',
      body: { name: 'limited', limits: { rateLimitPerSecond: 3 } },
    });
    expect(created.body.limits).toEqual({ rateLimitPerSecond: 3, rateLimitBurst: 9 });

    const patched = await api.request({
      ...admin,
      method: 'PATCH',
      url: `/v1/admin/tenants/${created.body.id}`,
      body: { limits: { rateLimitBurst: 40 } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.limits).toEqual({ rateLimitPerSecond: 3, rateLimitBurst: 40 });
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(created.body.updatedAt).getTime(),
    );
    // A control-plane change: in the audit list, newest first, with who and what.
    const audit = await api.request({ ...admin, method: 'GET', url: '/v1/admin/audit?limit=5' });
    expect(audit.status).toBe(200);
    expect(audit.body.data[0]).toMatchObject({
      actor: 'admin',
      tenantId: created.body.id,
      action: 'tenant.update',
      target: `tenant:${created.body.id}`,
      details: { rateLimitBurst: 40 },
    });
    const tenantKey = await api.request({
      ...admin,
      method: 'POST',
      url: `/v1/admin/tenants/${created.body.id}/keys`,
      body: {},
    });
    expect(
      (await api.request({ key: tenantKey.body.secret, method: 'GET', url: '/v1/admin/audit' })).status,
    ).toBe(401);
  });

  it('refuses a PATCH that names no limit, and unknown tenants with 404', async () => {
    const created = await api.request({
      ...admin,
      method: 'POST',
      url: '/v1/admin/tenants',
      body: { name: 'patchy' },
    });
    const empty = await api.request({
      ...admin,
      method: 'PATCH',
      url: `/v1/admin/tenants/${created.body.id}`,
      body: { limits: {} },
    });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('validation_failed');

    const missing = '00000000-0000-4000-8000-000000000000';
    const get = await api.request({ ...admin, method: 'GET', url: `/v1/admin/tenants/${missing}` });
    expect(get.status).toBe(404);
    expect(get.body.error).toMatchObject({ code: 'not_found' });
    const patch = await api.request({
      ...admin,
      method: 'PATCH',
      url: `/v1/admin/tenants/${missing}`,
      body: { limits: { rateLimitBurst: 2 } },
    });
    expect(patch.status).toBe(404);
  });

  it('answers 409 for a duplicate name', async () => {
    await api.request({ ...admin, method: 'POST', url: '/v1/admin/tenants', body: { name: 'twice' } });
    const again = await api.request({
      ...admin,
      method: 'POST',
      url: '/v1/admin/tenants',
      body: { name: 'twice' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
    expect(again.body.error.message).toContain('twice');
  });

  it('lists tenants a page at a time with a cursor', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) {
      await api.request({ ...admin, method: 'POST', url: '/v1/admin/tenants', body: { name } });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { data: { name: string }[]; nextCursor: string | null } } =
        await api.request({
          ...admin,
          method: 'GET',
          url: `/v1/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        });
      expect(page.status).toBe(200);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.data.map((t) => t.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('requires the admin key', async () => {
    const none = await api.request({ method: 'GET', url: '/v1/admin/tenants' });
    expect(none.status).toBe(401);
    const wrong = await api.request({
      method: 'GET',
      url: '/v1/admin/tenants',
      key: 'trb_admin_not-the-right-key-xxxxxxxx',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
  });
});
