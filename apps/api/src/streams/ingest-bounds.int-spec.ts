import { createTenantWithKey, startApi, type ApiHarness } from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 1000, rateLimitBurst: 1000 };

describe('global queue bound counted in items (real Redis, PostgreSQL; no worker, so items stay queued)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ INGEST_GLOBAL_MAX_QUEUED: '150' });
  }, 60_000);
  afterAll(() => api.close());

  async function streamOf(name: string) {
    const { key } = await createTenantWithKey(api, name, LIMITS);
    const stream = await api.request({
      method: 'POST',
      url: '/v1/streams',
      key,
      body: { name, kind: 'text' },
    });
    expect(stream.status).toBe(201);
    return (prefix: string, n: number) =>
      api.request({
        method: 'POST',
        url: `/v1/streams/${stream.body.id}/items`,
        key,
        body: {
          items: Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, text: `item ${prefix} ${i}` })),
        },
      });
  }

  it("refuses items beyond INGEST_GLOBAL_MAX_QUEUED items waiting for the model, whoever's they are", async () => {
    const a = await streamOf('bound-a');
    const b = await streamOf('bound-b');
    // 100 items: one BullMQ job, but 100 of the 150 items the model's queue may hold.
    expect((await a('a', 100)).status).toBe(202);

    const refused = await b('b', 60);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('unavailable');
    expect(refused.body.error.message).toContain('100 items waiting');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    expect((await b('b', 50)).status).toBe(202);
    expect((await a('a2', 1)).status).toBe(503);
  });
});
