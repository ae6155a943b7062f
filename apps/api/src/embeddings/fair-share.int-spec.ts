import { createTenantWithKey, startApi, type ApiHarness } from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 100_000, rateLimitBurst: 100_000 };

describe('fair share of the inference queue between tenants (real model, Redis, PostgreSQL)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    // A small queue drained in small batches, so one tenant can keep it full.
    api = await startApi({
      INFERENCE_QUEUE_MAX_ROWS: '64',
      INFERENCE_QUEUE_TENANT_MIN_ROWS: '8',
      BATCH_MAX_SIZE: '8',
      BATCH_MAX_WAIT_MS: '0',
    });
  }, 60_000);
  afterAll(() => api.close());

  it('answers tenant B while tenant A floods the queue beyond its capacity (A gets the 429s)', async () => {
    const a = await createTenantWithKey(api, 'flooder', LIMITS);
    const b = await createTenantWithKey(api, 'neighbour', LIMITS);
    const embed = (key: string, input: string[]) =>
      api.request({ method: 'POST', url: '/v1/embeddings', key, body: { input } });

    // 64 senders, each sending 2 new inputs again as soon as answered: twice the queue's 64 rows, in
    // requests small enough that any room left is taken by the flood again at once.
    const floodStatuses: number[] = [];
    let flooding = true;
    let firstRefusal: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (firstRefusal = resolve));
    let n = 0;
    const senders = Array.from({ length: 64 }, async () => {
      while (flooding) {
        const batch = Array.from({ length: 2 }, () => `flood text number ${n++} about nothing`);
        const { status } = await embed(a.key, batch);
        floodStatuses.push(status);
        if (status === 429) firstRefusal();
      }
    });

    try {
      await refused;
      const neighbour: number[] = [];
      for (let i = 0; i < 10; i++) {
        const batch = Array.from({ length: 2 }, (_, k) => `neighbour question ${i}.${k}`);
        neighbour.push((await embed(b.key, batch)).status);
      }
      expect(neighbour).toEqual(Array.from({ length: 10 }, () => 200));
    } finally {
      flooding = false;
      await Promise.all(senders);
    }
    expect(floodStatuses).toContain(429);
    expect(floodStatuses).toContain(200);
  }, 120_000);
});
