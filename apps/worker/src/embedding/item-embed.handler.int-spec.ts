import type { INestApplicationContext } from '@nestjs/common';
import { ItemFailureRepository, PrismaService } from '@tributary/db';
import { Metrics } from '@tributary/observability';
import {
  createQueue,
  EmbedQueues,
  embedQueueName,
  itemEmbedJobs,
  jobOptions,
  type Queue,
} from '@tributary/queue';
import { testRedisUrl, waitUntil } from '@tributary/testing';
import { startEmbeddingWorker, type EmbeddingWorker } from '../testing/embedding-worker';
import { streamWithQueuedItems } from '../testing/stream-fixture';

/** ItemEmbed jobs served by the one WorkerHost (real worker, model, PostgreSQL, Redis). */
describe('ItemEmbed on the embedding queue (real worker, PostgreSQL, Redis)', () => {
  let worker: EmbeddingWorker;
  let app: INestApplicationContext;
  let prisma: PrismaService;
  let items: ItemFailureRepository;
  let queue: Queue;
  const queueName = embedQueueName('use-lite@1');

  beforeAll(async () => {
    worker = await startEmbeddingWorker();
    app = worker.app;
    prisma = app.get(PrismaService);
    items = app.get(ItemFailureRepository);
    queue = createQueue(queueName, { redisUrl: testRedisUrl(), prefix: worker.prefix }, 'test');
  }, 120_000);

  afterAll(async () => {
    await queue.close();
    await worker.close();
  });

  async function statuses(streamId: string): Promise<Record<string, string>> {
    const { rows } = await prisma.sql.query<{ id: string; status: string }>(
      `SELECT id, status FROM item WHERE stream_id = $1::uuid ORDER BY id`,
      [streamId],
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.status]));
  }

  const settled = (streamId: string, count: number) =>
    waitUntil(
      'the items to be embedded or failed',
      async () => Object.values(await statuses(streamId)).filter((s) => s !== 'queued').length === count,
      60_000,
    );

  async function processed(outcome: 'completed' | 'failed'): Promise<number> {
    const metric = await app.get(Metrics).jobsProcessed.get();
    return metric.values
      .filter(
        (v) => v.labels.queue === queueName && v.labels.job === 'ItemEmbed' && v.labels.outcome === outcome,
      )
      .reduce((sum, v) => sum + v.value, 0);
  }

  it('embeds the items ingest enqueues, and counts the job as completed', async () => {
    const before = await processed('completed');
    const stream = await streamWithQueuedItems(app, 'embeds', ['e1', 'e2', 'e3'], 512, app.get(EmbedQueues));
    await settled(stream.id, 3);
    expect(await statuses(stream.id)).toEqual({ e1: 'embedded', e2: 'embedded', e3: 'embedded' });
    await waitUntil('the job to be counted', async () => (await processed('completed')) === before + 1);
  }, 90_000);

  it('processes a job enqueued under its name before the upgrade (EmbedItem) as ItemEmbed', async () => {
    const before = await processed('completed');
    // As an earlier version left it in Redis: the same data, the old name.
    const stream = await streamWithQueuedItems(app, 'legacy', ['l1', 'l2'], 512);
    const [job] = itemEmbedJobs(
      stream,
      ['l1', 'l2'].map((id) => ({ id, text: `text of ${id}`, retries: 0, acceptedAt: Date.now() })),
    );
    await queue.add('EmbedItem', job!.data, { ...jobOptions.ItemEmbed, jobId: job!.jobId });
    await settled(stream.id, 2);
    expect(await statuses(stream.id)).toEqual({ l1: 'embedded', l2: 'embedded' });
    await waitUntil('the job to be counted', async () => (await processed('completed')) === before + 1);
    expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
  }, 90_000);

  it('fails an item with nothing to embed at once, embeds the others of its job, and completes the job', async () => {
    const [completed, failed] = [await processed('completed'), await processed('failed')];
    const stream = await streamWithQueuedItems(app, 'bad-input', ['g1', 'blank'], 512);
    const [job] = itemEmbedJobs(stream, [
      { id: 'g1', text: 'text of g1', retries: 0, acceptedAt: Date.now() },
      { id: 'blank', text: ' \u0007 ', retries: 0, acceptedAt: Date.now() },
    ]);
    await queue.add('ItemEmbed', job!.data, { ...jobOptions.ItemEmbed, jobId: job!.jobId });
    await settled(stream.id, 2);
    expect(await statuses(stream.id)).toEqual({ blank: 'failed', g1: 'embedded' });
    expect(await items.failures(stream.tenantId, stream.id, 10)).toEqual([
      expect.objectContaining({ id: 'blank', reason: 'empty_text' }),
    ]);
    await waitUntil('the job to be counted', async () => (await processed('completed')) === completed + 1);
    // Bad input is not retried: the job never failed.
    expect(await processed('failed')).toBe(failed);
  }, 90_000);
});
