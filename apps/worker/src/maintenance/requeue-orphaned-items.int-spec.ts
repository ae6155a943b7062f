import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { DbModule, ItemStore, PrismaService } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import { createNamedQueue, embedQueueName, type EmbedItemsJob, type Queue } from '@tributary/queue';
import { createTestDatabase, testRedisUrl, uniqueRedisPrefix, type TestDatabase } from '@tributary/testing';
import { streamWithQueuedItems } from '../testing/stream-fixture';
import { RequeueOrphanedItemsHandler } from './requeue-orphaned-items.handler';

describe('RequeueOrphanedItems (real PostgreSQL + Redis)', () => {
  let db: TestDatabase;
  let handler: RequeueOrphanedItemsHandler;
  let prisma: PrismaService;
  let items: ItemStore;
  let queue: Queue;
  let metrics: Metrics;
  let close: () => Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const prefix = uniqueRedisPrefix();
    const config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      ORPHANED_AFTER_MS: '60000',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule],
      providers: [{ provide: Metrics, useValue: new Metrics('worker') }, RequeueOrphanedItemsHandler],
    }).compile();
    await moduleRef.init();
    handler = moduleRef.get(RequeueOrphanedItemsHandler);
    prisma = moduleRef.get(PrismaService);
    metrics = moduleRef.get(Metrics);
    items = new ItemStore(prisma.sql);
    queue = createNamedQueue(embedQueueName('use-lite@1'), { redisUrl: testRedisUrl(), prefix }, 'test');
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await queue.close();
    await close();
    await db.drop();
  });

  const streamWithItems = (name: string, ids: string[]) => streamWithQueuedItems(prisma, items, name, ids);

  /** Pretends the items were put on the queue ten minutes ago. */
  async function age(streamId: string, ids: string[]) {
    await prisma.sql.query(
      `UPDATE item SET enqueued_at = now() - interval '10 minutes' WHERE stream_id = $1::uuid AND id = ANY($2::text[])`,
      [streamId, ids],
    );
  }

  async function queuedItemIds(): Promise<string[]> {
    const jobs = await queue.getJobs(['waiting']);
    return jobs.flatMap((job) => (job.data as EmbedItemsJob).items.map((i) => i.itemId)).sort();
  }

  it('enqueues again items queued long ago once their queue is empty, and only those', async () => {
    const stream = await streamWithItems('orphans', ['a1', 'a2', 'a3']);
    await age(stream.id, ['a1', 'a2']);

    expect(await handler.handle()).toEqual({ requeued: 2 });
    expect(await queuedItemIds()).toEqual(['a1', 'a2']);
    const [job] = await queue.getJobs(['waiting']);
    expect(job!.data).toMatchObject({
      tenantId: stream.tenantId,
      streamId: stream.id,
      collectionId: stream.collectionId,
      items: [
        { itemId: 'a1', text: 'text of a1' },
        { itemId: 'a2', text: 'text of a2' },
      ],
    });
    const requeued = await metrics.registry.getSingleMetricAsString('tributary_items_requeued_total');
    expect(requeued).toMatch(/^tributary_items_requeued_total\{model="use-lite@1"[^}]*\} 2$/m);

    // The queue now holds their job: nothing is orphaned while it is not empty.
    expect(await handler.handle()).toEqual({ requeued: 0 });
    expect(await queuedItemIds()).toEqual(['a1', 'a2']);
  });

  it('leaves embedded and failed items alone', async () => {
    await queue.obliterate({ force: true });
    const stream = await streamWithItems('settled', ['b1', 'b2', 'b3']);
    await age(stream.id, ['b1', 'b2', 'b3']);
    await items.writeEmbedded([{ streamId: stream.id, itemId: 'b1', vector: new Float32Array(512) }]);
    await items.markFailed(stream.id, 'b2', 'bad input');

    const result = await handler.handle();
    const ids = await queuedItemIds();
    expect(ids).toContain('b3');
    expect(ids).not.toContain('b1');
    expect(ids).not.toContain('b2');
    expect(result.requeued).toBe(ids.length);
  });
});
