import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import { DbModule } from '../db.module';
import { PrismaService } from '../prisma.service';
import { ItemIngestRepository } from '../repositories/item-ingest.repository';
import { ItemQueueRepository } from '../repositories/item-queue.repository';
import { StreamRepository, type StreamWithCollection } from '../repositories/stream.repository';
import { TenantRepository } from '../repositories/tenant.repository';
import { createTestDatabase } from './test-database';

export interface RepositoriesFixture {
  /** DbModule (with streams) over a database of the spec file's own: `module.get(XRepository)`. */
  readonly module: TestingModule;
  readonly prisma: PrismaService;
  /**
   * A tenant with one `use-lite@1` text stream into a collection of the same name (vectors of
   * `dimensions`), created through the repositories, and the given items stored and confirmed in
   * the queue as ingest leaves them (each with a made-up job id, `job-<id>`).
   */
  streamWithQueuedItems(name: string, ids: string[], dimensions?: number): Promise<StreamWithCollection>;
  /** The stream's counters, as numbers. */
  counters(streamId: string): Promise<{ accepted: number; embedded: number; failed: number }>;
  close(): Promise<void>;
}

/** The repositories over a fresh database, for the integration specs of this library. */
export async function openRepositories(): Promise<RepositoriesFixture> {
  const db = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL_SIZE: '4',
    SECRETS_ENCRYPTION_KEY: `t1:${randomBytes(32).toString('base64')}`,
  });
  const module = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), DbModule.withStreams()],
  }).compile();
  await module.init();
  const prisma = module.get(PrismaService);
  return {
    module,
    prisma,
    async streamWithQueuedItems(name, ids, dimensions = 4) {
      const tenant = await module
        .get(TenantRepository)
        .create(name, { rateLimitPerSecond: 1, rateLimitBurst: 1 }, 'use-lite@1');
      const stream = await module.get(StreamRepository).create(tenant.id, {
        name,
        kind: 'text',
        model: 'use-lite@1',
        collection: name,
        dimensions,
        storeKey: `${tenant.id}--${name}`,
        webhookSecret: 'whsec_test',
      });
      const rows = ids.map((id) => ({ id, text: `text of ${id}`, metadata: { n: id }, occurredAt: null }));
      await module.get(ItemIngestRepository).insertNew(tenant.id, stream.id, 'use-lite@1', rows);
      await module.get(ItemQueueRepository).markQueued(
        tenant.id,
        stream.id,
        ids.map((id) => ({ id, jobId: `job-${id}` })),
      );
      return stream;
    },
    async counters(streamId) {
      const s = await prisma.stream.findUniqueOrThrow({ where: { id: streamId } });
      return {
        accepted: Number(s.acceptedCount),
        embedded: Number(s.embeddedCount),
        failed: Number(s.failedCount),
      };
    },
    async close() {
      await module.close();
      await db.drop();
    },
  };
}
