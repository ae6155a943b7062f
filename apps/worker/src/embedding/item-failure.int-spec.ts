import type { INestApplicationContext } from '@nestjs/common';
import { ItemFailureRepository, PrismaService } from '@tributary/db';
import { EmbedQueues } from '@tributary/queue';
import { waitUntil } from '@tributary/testing';
import { startEmbeddingWorker, type EmbeddingWorker } from '../testing/embedding-worker';
import { streamWithQueuedItems } from '../testing/stream-fixture';

describe('an item that fails for good keeps a reason code, the error text goes to the log (real worker, PostgreSQL, Redis)', () => {
  let worker: EmbeddingWorker;
  let app: INestApplicationContext;
  let lines: string[];

  beforeAll(async () => {
    worker = await startEmbeddingWorker('warn');
    ({ app, lines } = worker);
  }, 120_000);

  afterAll(() => worker.close());

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
