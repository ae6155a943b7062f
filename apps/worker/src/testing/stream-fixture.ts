import type { ItemStore, PrismaService } from '@tributary/db';
import { embedJobsFor, type Queue } from '@tributary/queue';

/**
 * A tenant with one `use-lite@1` stream and collection, and the given items stored and confirmed
 * in the queue as ingest leaves them (with the ids of their jobs), for tests of what workers do
 * with items. The jobs are added to `queue` when one is given; without it they are as good as
 * lost (Redis never kept them).
 */
export async function streamWithQueuedItems(
  prisma: PrismaService,
  items: ItemStore,
  name: string,
  ids: string[],
  dimensions = 512,
  queue?: Queue,
) {
  const tenant = await prisma.tenant.create({ data: { name, rateLimitPerSecond: 1, rateLimitBurst: 1 } });
  const collection = await prisma.collection.create({
    data: { tenantId: tenant.id, name, model: 'use-lite@1', dimensions, storeKey: `${tenant.id}--${name}` },
  });
  const stream = await prisma.stream.create({
    data: {
      tenantId: tenant.id,
      name,
      kind: 'text',
      model: 'use-lite@1',
      collectionId: collection.id,
      webhookSecret: 'whsec_test',
    },
  });
  const rows = ids.map((id) => ({ id, text: `text of ${id}`, metadata: { n: id }, occurredAt: null }));
  await items.insertNew(tenant.id, stream.id, 'use-lite@1', rows);
  const jobs = embedJobsFor(
    stream,
    rows.map((row) => ({ id: row.id, text: row.text, retries: 0, acceptedAt: Date.now() })),
  );
  if (queue) await queue.addBulk(jobs);
  await items.markQueued(
    stream.id,
    jobs.flatMap((job) => job.data.items.map((item) => ({ id: item.itemId, jobId: job.opts.jobId! }))),
  );
  return stream;
}
