import type { ItemStore, PrismaService } from '@tributary/db';

/**
 * A tenant with one `use-lite@1` stream and collection, and the given items stored and confirmed
 * in the queue (as ingest leaves them), for tests of what workers do with items.
 */
export async function streamWithQueuedItems(
  prisma: PrismaService,
  items: ItemStore,
  name: string,
  ids: string[],
  dimensions = 512,
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
  await items.markQueued(stream.id, ids);
  return stream;
}
