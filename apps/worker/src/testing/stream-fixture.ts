import type { ItemStore, PrismaService } from '@tributary/db';
import { enqueuedItems, itemEmbedJobs, type EmbedQueues } from '@tributary/queue';
import { tenantWithStream } from '@tributary/testing';

/**
 * A tenant with one `use-lite@1` stream and collection, and the given items stored and confirmed
 * in the queue as ingest leaves them (with the ids of their jobs), for tests of what workers do
 * with items. The jobs are put on the model's queue when `queues` is given; without it they are as
 * good as lost (Redis never kept them).
 */
export async function streamWithQueuedItems(
  prisma: PrismaService,
  items: ItemStore,
  name: string,
  ids: string[],
  dimensions = 512,
  queues?: EmbedQueues,
) {
  const { tenant, stream } = await tenantWithStream(prisma, name, dimensions);
  const rows = ids.map((id) => ({ id, text: `text of ${id}`, metadata: { n: id }, occurredAt: null }));
  await items.insertNew(tenant.id, stream.id, 'use-lite@1', rows);
  const toQueue = rows.map((row) => ({ id: row.id, text: row.text, retries: 0, acceptedAt: Date.now() }));
  const carried = queues
    ? await queues.enqueue(stream, toQueue)
    : enqueuedItems(itemEmbedJobs(stream, toQueue));
  await items.markQueued(stream.id, carried);
  return stream;
}
