import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@tributary/config';
import { ItemFailureRepository, PrismaService } from '@tributary/db';
import { EmbedQueues, embedQueueName } from '@tributary/queue';
import {
  createTestDatabase,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import { Logger } from 'nestjs-pino';
import { streamWithQueuedItems } from '../testing/stream-fixture';
import { WorkerModule } from '../worker.module';

describe('an item that fails for good keeps a reason code, the error text goes to the log (real worker, PostgreSQL, Redis)', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  const lines: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    const prefix = uniqueRedisPrefix();
    const config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      DATA_DIR: '.data',
      MODELS: 'use-lite@1',
      WORKER_QUEUES: embedQueueName('use-lite@1'),
      INFERENCE_SESSIONS: '1',
      INFERENCE_INTRA_OP_THREADS: '1',
      DATABASE_POOL_SIZE: '3',
    });
    app = await NestFactory.createApplicationContext(
      WorkerModule.register(config, { write: (line: string) => lines.push(line) }),
      { bufferLogs: true },
    );
    app.useLogger(app.get(Logger));
    app.flushLogs();
    await app.init();
  }, 120_000);

  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('out of attempts: stored as attempts_exhausted, logged with the error, item and job ids', async () => {
    const prisma = app.get(PrismaService);
    const failures = app.get(ItemFailureRepository);
    // PostgreSQL refuses to store the vector, with the kind of detail a real failure carries
    // (a path on the server): a transient error on every attempt.
    await prisma.sql.query(`
      CREATE FUNCTION refuse_embedding() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file "/srv/pgdata/base/16384/2619": No space left on device'; END $$;
      CREATE TRIGGER refuse_embedding BEFORE UPDATE ON item
        FOR EACH ROW WHEN (NEW.status = 'embedded') EXECUTE FUNCTION refuse_embedding();`);
    const stream = await streamWithQueuedItems(app, 'failing', ['x1'], 512, app.get(EmbedQueues));
    // Five attempts with exponential backoff from 500 ms: about 8 s, more on a loaded machine.
    await waitUntil(
      'the item to fail for good',
      async () => (await failures.failures(stream.tenantId, stream.id, 10)).length === 1,
      90_000,
    );
    const [failure] = await failures.failures(stream.tenantId, stream.id, 10);
    expect(failure).toEqual(expect.objectContaining({ id: 'x1', reason: 'attempts_exhausted' }));
    // Nothing stored names the internals the tenant would see.
    const { rows } = await prisma.sql.query<{ row: string }>(
      `SELECT row_to_json(item)::text AS row FROM item WHERE stream_id = $1::uuid`,
      [stream.id],
    );
    expect(rows[0]!.row).not.toMatch(/No space left|pgdata/);

    const logged = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === 'item failed for good: attempts_exhausted');
    expect(logged).toEqual(
      expect.objectContaining({
        level: 'warn',
        itemId: 'x1',
        streamId: stream.id,
        jobId: expect.any(String),
        err: expect.objectContaining({ message: expect.stringContaining('No space left on device') }),
      }),
    );
  }, 120_000);
});
