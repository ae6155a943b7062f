import { NotFoundError } from '@tributary/contracts';
import { openRepositories, type RepositoriesFixture } from '../testing/repositories-fixture';
import { StreamRepository } from './stream.repository';

describe('StreamRepository (real PostgreSQL)', () => {
  let fx: RepositoriesFixture;
  let streams: StreamRepository;

  beforeAll(async () => {
    fx = await openRepositories();
    streams = fx.module.get(StreamRepository);
  });
  afterAll(() => fx.close());

  it('stores the webhook secret encrypted and gives it back, with the replaced one during its overlap', async () => {
    const s = await fx.streamWithQueuedItems('secrets', []);
    const stored = await fx.prisma.stream.findUniqueOrThrow({ where: { id: s.id } });
    expect(stored.webhookSecret).toMatch(/^gcm1:t1:/);
    expect((await streams.findForWebhook(s.id))?.secrets).toEqual(['whsec_test']);
    await streams.rotateWebhookSecret(s.tenantId, s.id, 'whsec_new', 60);
    expect((await streams.findForWebhook(s.id))?.secrets).toEqual(['whsec_new', 'whsec_test']);
    expect(await streams.findForWebhook('00000000-0000-0000-0000-000000000000')).toBeNull();
  });

  it("with another tenant's id finds nothing and rotates nothing", async () => {
    const s = await fx.streamWithQueuedItems('scoped', []);
    const other = await fx.streamWithQueuedItems('scoped-other', []);
    await expect(streams.get(other.tenantId, s.id)).rejects.toThrow(NotFoundError);
    expect((await streams.list(other.tenantId)).map((x) => x.id)).toEqual([other.id]);
    await expect(streams.rotateWebhookSecret(other.tenantId, s.id, 'whsec_stolen', 0)).rejects.toThrow(
      NotFoundError,
    );
    expect((await streams.findForWebhook(s.id))?.secrets).toEqual(['whsec_test']);
    expect((await streams.get(s.tenantId, s.id)).collection.name).toBe('scoped');
  });
});
