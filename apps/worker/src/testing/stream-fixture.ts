import type { INestApplicationContext } from '@nestjs/common';
import { ItemIngestRepository, ItemQueueRepository, PrismaService } from '@tributary/db';
import { enqueuedItems, itemEmbedJobs, type EmbedQueues } from '@tributary/queue';
import { tenantWithStream } from '@tributary/testing';

/**
 * A tenant with one `use-lite@1` stream and collection, and the given items stored and confirmed
 * in the queue as ingest leaves them (with the ids of their jobs), for tests of what workers do
 * with items; `app` is a module with DbModule. The jobs are put on the model's queue when `queues`
 * is given; without it they are as good as lost (Redis never kept them).
 */
export async function streamWithQueuedItems(
  app: Pick<INestApplicationContext, 'get'>,
  name: string,
  ids: string[],
  dimensions = 512,
  queues?: EmbedQueues,
) {
  const { tenant, stream } = await tenantWithStream(app.get(PrismaService), name, dimensions);
  const rows = ids.map((id) => ({ id, text: `text of ${id}`, metadata: { n: id }, occurredAt: null }));
  await app.get(ItemIngestRepository).insertNew(tenant.id, stream.id, 'use-lite@1', rows);
  const toQueue = rows.map((row) => ({ id: row.id, text: row.text, retries: 0, acceptedAt: Date.now() }));
  const carried = queues
    ? await queues.enqueue(stream, toQueue)
    : enqueuedItems(itemEmbedJobs(stream, toQueue));
  await app.get(ItemQueueRepository).markQueued(tenant.id, stream.id, carried);
  return stream;
}
