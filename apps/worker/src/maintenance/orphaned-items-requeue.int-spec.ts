import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { DbModule, ItemEmbeddingRepository, PrismaService, RolloutRepository } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import {
  createQueue,
  createWorker,
  dualWriteJobId,
  EmbedQueues,
  embedQueueName,
  QueueModule,
  UnrecoverableError,
  type ItemEmbedData,
  type Queue,
} from '@tributary/queue';
import {
  createTestDatabase,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import { streamWithQueuedItems } from '../testing/stream-fixture';
import { OrphanedItemsRequeueHandler } from './orphaned-items-requeue.handler';

describe('OrphanedItemsRequeue (real PostgreSQL + Redis)', () => {
  let db: TestDatabase;
  let handler: OrphanedItemsRequeueHandler;
  let queues: EmbedQueues;
  let prisma: PrismaService;
  let moduleRef: TestingModule;
  let items: ItemEmbeddingRepository;
  let queue: Queue;
  let metrics: Metrics;
  let close: () => Promise<void>;
  let prefix: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = uniqueRedisPrefix();
    const config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      ORPHANED_AFTER_MS: '60000',
    });
    moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule, QueueModule.forRoot({ clientName: 'test' })],
      providers: [{ provide: Metrics, useValue: new Metrics('worker') }, OrphanedItemsRequeueHandler],
    }).compile();
    await moduleRef.init();
    handler = moduleRef.get(OrphanedItemsRequeueHandler);
    queues = moduleRef.get(EmbedQueues);
    prisma = moduleRef.get(PrismaService);
    metrics = moduleRef.get(Metrics);
    items = moduleRef.get(ItemEmbeddingRepository);
    queue = createQueue(embedQueueName('use-lite@1'), { redisUrl: testRedisUrl(), prefix }, 'test');
    close = () => moduleRef.close();
  });

  afterAll(async () => {
    await queue.close();
    await close();
    await db.drop();
  });

  /** Items confirmed in the queue; their jobs are in `queue` when `inQueue`, otherwise lost. */
  const streamWithItems = (name: string, ids: string[], inQueue = false) =>
    streamWithQueuedItems(moduleRef, name, ids, 512, inQueue ? queues : undefined);

  /** Pretends the items were put on the queue ten minutes ago. */
  async function age(streamId: string, ids: string[]) {
    await prisma.sql.query(
      `UPDATE item SET enqueued_at = now() - interval '10 minutes' WHERE stream_id = $1::uuid AND id = ANY($2::text[])`,
      [streamId, ids],
    );
  }

  async function queuedItemIds(onlyRequeued = false): Promise<string[]> {
    const jobs = await queue.getJobs(['waiting']);
    return jobs
      .filter((job) => !onlyRequeued || /\.r\d+$/.test(job.id!))
      .flatMap((job) => (job.data as ItemEmbedData).items.map((i) => i.itemId))
      .sort();
  }

  it('enqueues again items queued long ago whose job is gone, and only those', async () => {
    const stream = await streamWithItems('orphans', ['a1', 'a2', 'a3']);
    await age(stream.id, ['a1', 'a2']);

    expect(await handler.handle()).toEqual({ requeued: 2 });
    expect(await queuedItemIds()).toEqual(['a1', 'a2']);
    const [job] = await queue.getJobs(['waiting']);
    // The job ingest enqueues, under a new id (the lost job's may still be known to BullMQ).
    expect(job!.name).toBe('ItemEmbed');
    expect(job!.id).toMatch(/\.r\d+$/);
    expect(job!.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 500 } });
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

    // The queue now holds their new job: they are not orphaned, even queued long ago.
    await age(stream.id, ['a1', 'a2']);
    expect(await handler.handle()).toEqual({ requeued: 0 });
    expect(await queuedItemIds()).toEqual(['a1', 'a2']);
  });

  it('leaves embedded and failed items alone', async () => {
    await queue.obliterate({ force: true });
    const stream = await streamWithItems('settled', ['b1', 'b2', 'b3']);
    await age(stream.id, ['b1', 'b2', 'b3']);
    const b1 = { tenantId: stream.tenantId, streamId: stream.id, itemId: 'b1' };
    await items.writeEmbedded([{ ...b1, vector: new Float32Array(512) }]);
    await items.countEmbedded([b1]);
    await items.markFailed(stream.tenantId, stream.id, 'b2', 'empty_text');

    const result = await handler.handle();
    const ids = await queuedItemIds();
    expect(ids).toContain('b3');
    expect(ids).not.toContain('b1');
    expect(ids).not.toContain('b2');
    expect(result.requeued).toBe(ids.length);
  });

  it('on a busy queue, enqueues again exactly the items whose job is gone or failed for good', async () => {
    await queue.obliterate({ force: true });
    // A job that failed for good while its item stayed queued (its failure was never recorded).
    const failedStream = await streamWithItems('failed-job', ['f1'], true);
    const worker = createWorker(
      embedQueueName('use-lite@1'),
      () => Promise.reject(new UnrecoverableError('worker crashed on it')),
      { redisUrl: testRedisUrl(), prefix },
      { concurrency: 1 },
    );
    await waitUntil('the job to fail', async () => (await queue.getJobCounts('failed')).failed === 1, 30_000);
    await worker.close();
    // A backlog that never drains while the sweep runs, and items whose jobs Redis lost.
    const backlog = Array.from({ length: 250 }, (_, i) => `w${i}`);
    const busy = await streamWithItems('backlog', backlog, true);
    const lost = await streamWithItems('lost', ['l1', 'l2', 'l3', 'l4', 'l5']);
    // Queued before job ids were recorded: judged the old way, so left alone while the queue is busy.
    await prisma.sql.query(`UPDATE item SET job_id = NULL WHERE stream_id = $1::uuid AND id = 'l5'`, [
      lost.id,
    ]);
    await age(failedStream.id, ['f1']);
    await age(busy.id, backlog);
    await age(lost.id, ['l1', 'l2', 'l3', 'l4', 'l5']);
    const waitingBefore = (await queue.getJobCounts('waiting')).waiting ?? 0;
    expect(waitingBefore).toBe(3);

    expect(await handler.handle()).toEqual({ requeued: 5 });
    expect(await queuedItemIds(true)).toEqual(['f1', 'l1', 'l2', 'l3', 'l4']);
    expect((await queue.getJobCounts('waiting')).waiting).toBe(waitingBefore + 2);

    // Their new jobs are there now: a later sweep leaves them alone, however long they wait.
    await age(failedStream.id, ['f1']);
    await age(lost.id, ['l1', 'l2', 'l3', 'l4']);
    expect(await handler.handle()).toEqual({ requeued: 0 });
  });

  it('looks for a job on the queue of the model its item was accepted for, after a promotion changed the stream’s', async () => {
    // The earlier tests' items all have their jobs waiting now.
    const int8 = createQueue(embedQueueName('use-lite-int8@1'), { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      // p1's job waits on use-lite@1's queue; p2's was lost. Then a promotion moves the stream to int8.
      const promoted = await streamWithItems('promoted', ['p1'], true);
      await prisma.sql.query(
        `INSERT INTO item (stream_id, id, tenant_id, text, model, status, enqueued_at, job_id)
         VALUES ($1::uuid, 'p2', $2::uuid, 'text of p2', 'use-lite@1', 'queued', now(), 'gone-job')`,
        [promoted.id, promoted.tenantId],
      );
      await prisma.sql.query(
        `UPDATE stream SET model = 'use-lite-int8@1', accepted_count = accepted_count + 1 WHERE id = $1::uuid`,
        [promoted.id],
      );
      await age(promoted.id, ['p1', 'p2']);

      expect(await handler.handle()).toEqual({ requeued: 1 });
      // Only p2, on the queue it was accepted for; p1's waiting job was found where it is.
      expect((await queuedItemIds(true)).filter((id) => id.startsWith('p'))).toEqual(['p2']);
      expect(await int8.getJobCounts('waiting')).toEqual({ waiting: 0 });
    } finally {
      await int8.obliterate({ force: true });
      await int8.close();
    }
  });

  it('dual-writes again the embedded items a finished backfill’s candidate lacks, when their dual-write job is gone', async () => {
    const int8 = createQueue(embedQueueName('use-lite-int8@1'), { redisUrl: testRedisUrl(), prefix }, 'test');
    try {
      const stream = await streamWithItems('dual', ['d1', 'd2', 'd3', 'd4', 'd5', 'd6']);
      const rollout = await moduleRef.get(RolloutRepository).create({
        tenantId: stream.tenantId,
        collectionId: stream.collectionId,
        to: { model: 'use-lite-int8@1', dimensions: 512, storeKey: `${stream.collectionId}--int8` },
        mode: 'canary',
        trafficPercent: 0,
        actor: 'admin',
      });
      const candidate = rollout.toVersionId;
      await prisma.sql.query(
        `UPDATE rollout SET state = 'ready', backfill_finished_at = now() - interval '20 minutes' WHERE id = $1::uuid`,
        [rollout.id],
      );
      // Embedded by the serving model after the backfill finished: d1 (its dual-write job lost),
      // d2 (its dual-write job still waiting), d3 (its candidate vector written), d6 (failed);
      // d4 was accepted long before the backfill (which covered it), d5 a moment ago.
      await prisma.sql.query(
        `UPDATE item SET status = CASE WHEN id = 'd6' THEN 'failed'::item_status ELSE 'embedded'::item_status END,
           embedded_at = now(), accepted_at = CASE id WHEN 'd4' THEN now() - interval '2 hours'
             WHEN 'd5' THEN now() ELSE now() - interval '10 minutes' END,
           job_id = CASE WHEN id = 'd2' THEN 'job-d2' ELSE job_id END
         WHERE stream_id = $1::uuid`,
        [stream.id],
      );
      await int8.add(
        'ItemEmbed',
        {
          tenantId: stream.tenantId,
          streamId: stream.id,
          collectionId: stream.collectionId,
          versionId: candidate,
          items: [],
        },
        { jobId: dualWriteJobId('job-d2', candidate) },
      );
      await prisma.sql.query(
        `INSERT INTO item_vector (version_id, stream_id, item_id, vector) VALUES ($1::uuid, $2::uuid, 'd3', $3)`,
        [candidate, stream.id, Buffer.alloc(512 * 4)],
      );
      const repaired = async () =>
        (await int8.getJobs(['waiting']))
          .filter((job) => job.id!.endsWith('.repair'))
          .map((job) => job.data as ItemEmbedData);

      const requeuedOnInt8 = async () =>
        (await metrics.itemsRequeued.get()).values.find((v) => v.labels['model'] === 'use-lite-int8@1')
          ?.value ?? 0;
      const before = await requeuedOnInt8();
      expect(await handler.handle()).toEqual({ requeued: 1 });
      const jobs = await repaired();
      expect(jobs).toHaveLength(1);
      expect(jobs[0]!.versionId).toBe(candidate);
      expect(jobs[0]!.items.map((i) => i.itemId)).toEqual(['d1']);
      expect((await requeuedOnInt8()) - before).toBe(1);
      // The repair waits in the queue: the next sweep adds nothing (the same job id).
      await handler.handle();
      expect(await repaired()).toHaveLength(1);

      // Promoted, the previous version retained: an item embedded by the new serving model since
      // lacks its vector by the previous one (d7); d1 (its repair lost too) and d2 (its dual-write
      // job lost now) still lack int8's.
      await int8.obliterate({ force: true });
      await prisma.sql.query(
        `UPDATE rollout SET state = 'promoted', retain_until = now() + interval '1 day' WHERE id = $1::uuid`,
        [rollout.id],
      );
      await prisma.sql.query(
        `INSERT INTO item (stream_id, id, tenant_id, text, model, status, accepted_at, enqueued_at, embedded_at, job_id)
         VALUES ($1::uuid, 'd7', $2::uuid, 'text of d7', 'use-lite-int8@1', 'embedded',
           now() - interval '10 minutes', now(), now(), 'job-d7')`,
        [stream.id, stream.tenantId],
      );
      expect(await handler.handle()).toEqual({ requeued: 3 });
      expect((await repaired()).map((job) => [job.versionId, job.items.map((i) => i.itemId)])).toEqual([
        [candidate, ['d1', 'd2']],
      ]);
      const previous = (await queue.getJobs(['waiting'])).filter((job) => job.id!.endsWith('.repair'));
      expect(
        previous.map((job) => [
          (job.data as ItemEmbedData).versionId,
          (job.data as ItemEmbedData).items.map((i) => i.itemId),
        ]),
      ).toEqual([[rollout.fromVersionId, ['d7']]]);

      // Once rolled back, the candidate is retired: nothing more to write to it.
      await int8.obliterate({ force: true });
      await prisma.sql.query(`UPDATE rollout SET state = 'rolled_back' WHERE id = $1::uuid`, [rollout.id]);
      await prisma.sql.query(`UPDATE collection_version SET retired_at = now() WHERE id = $1::uuid`, [
        candidate,
      ]);
      expect(await handler.handle()).toEqual({ requeued: 0 });
    } finally {
      await int8.obliterate({ force: true });
      await int8.close();
    }
  });
});
