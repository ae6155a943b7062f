import { createTenantWithKey, startApi, TEST_ADMIN_KEY, type ApiHarness } from '../testing/api-harness';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe('access log: one concise line per request, headers only at debug, keys never', () => {
  let api: ApiHarness;
  afterEach(() => api.close());

  it('at info: one line per request with method, route template, status, duration, tenant and request id', async () => {
    api = await startApi({ LOG_LEVEL: 'info' });
    const tenant = await createTenantWithKey(api, 'logged');
    const responses = [
      await api.request({ method: 'GET', url: '/v1/me', key: tenant.key }),
      await api.request({ method: 'GET', url: `/v1/streams/${MISSING}?verbose=1`, key: tenant.key }),
      await api.request({ method: 'GET', url: '/v1/admin/tenants', key: TEST_ADMIN_KEY }),
      await api.request({ method: 'GET', url: '/no/such/route' }),
    ];
    await api.request({ method: 'GET', url: '/health/live' });

    const lines = api.logs();
    const access = lines.filter((line) => line.msg === 'request');
    const expected = [
      { method: 'GET', route: '/v1/me', status: 200, tenantId: tenant.tenantId },
      { method: 'GET', route: '/v1/streams/:id', status: 404, tenantId: tenant.tenantId },
      { method: 'GET', route: '/v1/admin/tenants', status: 200 },
      { method: 'GET', route: 'unmatched', status: 404 },
    ];
    responses.forEach((res, i) => {
      const mine = access.filter((line) => line.requestId === res.headers['x-request-id']);
      expect(mine).toHaveLength(1);
      const { app, level, method, route, status, tenantId, durationMs } = mine[0];
      expect({ app, level, method, route, status, tenantId }).toEqual({
        app: 'api',
        level: 'info',
        tenantId: undefined,
        ...expected[i],
      });
      expect(typeof durationMs).toBe('number');
    });
    // Probes are left out; the setup's two admin calls and the four above are the only lines.
    expect(access).toHaveLength(6);
    for (const line of lines) {
      expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['req']));
      expect(Object.keys(line)).not.toEqual(expect.arrayContaining(['headers']));
    }
    const text = api.logText();
    expect(text).not.toContain(tenant.key);
    expect(text).not.toContain(TEST_ADMIN_KEY);
    expect(text).not.toContain(MISSING);
    expect(text).not.toMatch(/authorization/i);
  });

  it('at debug: the headers come as a second line, with Authorization and signatures redacted', async () => {
    api = await startApi({ LOG_LEVEL: 'debug' });
    const res = await api.request({
      method: 'GET',
      url: '/v1/admin/tenants',
      key: TEST_ADMIN_KEY,
      headers: { 'x-tributary-signature': 'v1=deadbeef', 'user-agent': 'log-test' },
    });
    expect(res.status).toBe(200);
    const mine = api.logs().filter((line) => line.requestId === res.headers['x-request-id']);
    expect(mine.find((line) => line.msg === 'request')).toEqual(
      expect.objectContaining({ level: 'info', route: '/v1/admin/tenants', status: 200 }),
    );
    const headers = mine.find((line) => line.msg === 'request headers');
    expect(headers).toEqual(
      expect.objectContaining({
        level: 'debug',
        headers: expect.objectContaining({
          authorization: '[redacted]',
          'x-tributary-signature': '[redacted]',
          'user-agent': 'log-test',
        }),
      }),
    );
    expect(api.logText()).not.toContain(TEST_ADMIN_KEY);
    expect(api.logText()).not.toContain('deadbeef');
  });
});
