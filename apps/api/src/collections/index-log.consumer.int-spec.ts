import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from '@tributary/config';
import {
  CollectionRepository,
  DbModule,
  ItemEmbeddingRepository,
  ItemIngestRepository,
  ItemQueueRepository,
  PrismaService,
} from '@tributary/db';
import { appendIndexOp, itemPayload, type IndexOp } from '@tributary/vector-store';
import { redisKeys } from '@tributary/redis';
import {
  createTestDatabase,
  tenantWithStream,
  testRedisUrl,
  uniqueRedisPrefix,
  waitUntil,
  type TestDatabase,
} from '@tributary/testing';
import { MetricsService } from '../metrics/metrics.service';
import { RedisModule, RedisService } from '../redis/redis.module';
import { VectorStoreService } from './vector-store.service';

const DIMENSIONS = 16;
const HOUR = 3_600_000;

/** A unit vector of its own per item id (distinct enough that each is its own nearest neighbour). */
function vectorOf(id: string): Float32Array {
  const bytes = createHash('sha256').update(id).digest();
  const v = Float32Array.from({ length: DIMENSIONS }, (_, i) => bytes[i]! / 255 - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/**
 * Appends log entries the way a write reaches Redis and then goes missing, atomically, so the
 * consumer can never read them first: `xdel` appends an entry and deletes it; `trim` appends two
 * and trims the log up to the second (as age trimming does to a consumer that fell behind).
 */
const APPEND_AND_LOSE = `
local n = tonumber(ARGV[2])
local first = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3, 2 + n))
if ARGV[1] == 'xdel' then
  redis.call('XDEL', KEYS[1], first)
  return first
end
local second = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3 + n))
redis.call('XTRIM', KEYS[1], 'MINID', second)
return second`;

/**
 * The API's embedded vector store and its index-log consumer (VectorStoreService) against real
 * PostgreSQL and Redis, fed the way workers feed it: vectors written to PostgreSQL, then the
 * collection's version bumped with the log entry appended in that transaction. Each case loses or
 * breaks an entry and expects the collection to end equal to PostgreSQL's content.
 */
describe('IndexLogConsumer (real PostgreSQL and Redis)', () => {
  let db: TestDatabase;
  const opened: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const close of opened.splice(0)) await close();
  });
  afterAll(() => db.drop());

  /** One API process's vector store on a Redis prefix and vector folder of its own. */
  async function startVectorStore(env: Record<string, string> = {}) {
    const dir = await mkdtemp(path.join(tmpdir(), 'index-log-'));
    const config = loadConfig({
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: uniqueRedisPrefix(),
      VECTOR_DIR: dir,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      DATABASE_POOL_SIZE: '4',
      ...env,
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), DbModule, RedisModule],
      providers: [MetricsService, VectorStoreService],
    }).compile();
    moduleRef.useLogger(false);
    opened.push(async () => {
      await moduleRef.close();
      await rm(dir, { recursive: true, force: true });
    });
    await moduleRef.init();
    const prisma = moduleRef.get(PrismaService);
    const redis = moduleRef.get(RedisService).client;
    const logKey = redisKeys(config.REDIS_PREFIX).indexLog;
    const collections = moduleRef.get(CollectionRepository);
    const [ingest, queued, embedding] = [
      moduleRef.get(ItemIngestRepository),
      moduleRef.get(ItemQueueRepository),
      moduleRef.get(ItemEmbeddingRepository),
    ];
    const vectors = moduleRef.get(VectorStoreService);
    const metrics = moduleRef.get(MetricsService);

    /** A tenant's collection fed by one stream. */
    async function collection(name: string) {
      const { tenant, collection: row, stream } = await tenantWithStream(prisma, name, DIMENSIONS);
      return { tenantId: tenant.id, id: row.id, key: row.storeKey, streamId: stream.id };
    }
    type Collection = Awaited<ReturnType<typeof collection>>;

    /** Items accepted, embedded and written as a worker writes them; returns their log entry. */
    async function embed(c: Collection, ids: string[]) {
      const rows = ids.map((id) => ({ id, text: `text of ${id}`, metadata: { n: id }, occurredAt: null }));
      await ingest.insertNew(c.tenantId, c.streamId, 'use-lite@1', rows);
      await queued.markQueued(
        c.tenantId,
        c.streamId,
        ids.map((id) => ({ id, jobId: `job-${id}` })),
      );
      const written = await embedding.writeEmbedded(
        ids.map((id) => ({ tenantId: c.tenantId, streamId: c.streamId, itemId: id, vector: vectorOf(id) })),
      );
      const points = written.map((w) => ({
        id: w.itemId,
        vector: vectorOf(w.itemId),
        payload: itemPayload(w),
      }));
      return (version: string): IndexOp => ({
        op: 'upsert',
        key: c.key,
        version,
        dimensions: DIMENSIONS,
        points,
        acceptedAt: points.map(() => Date.now()),
      });
    }

    /** Bumps the version and runs `publish` in that transaction, as the worker does. */
    const publish = (c: Collection, work: (version: string) => Promise<unknown>) =>
      collections.versions.next(c.key, work);
    const append = (op: IndexOp) => appendIndexOp(redis, logKey, op, HOUR);

    /** The fields of an entry as Redis stores it (appended to a scratch key of its own and read back). */
    let scratches = 0;
    async function fieldsOf(op: IndexOp): Promise<Buffer[]> {
      const scratch = `${logKey}:scratch:${++scratches}`;
      const id = await appendIndexOp(redis, scratch, op, HOUR);
      const [entry] = (await redis.xrangeBuffer(scratch, id, id)) as [Buffer, Buffer[]][];
      await redis.del(scratch);
      if (!entry) throw new Error('the scratch entry is gone');
      return entry[1];
    }
    const appendAndLose = async (mode: 'xdel' | 'trim', ...ops: IndexOp[]) => {
      const fields = await Promise.all(ops.map(fieldsOf));
      await redis.eval(APPEND_AND_LOSE, 1, logKey, mode, String(fields[0]!.length), ...fields.flat());
    };

    /** Whether the collection holds exactly PostgreSQL's embedded items, each with its own vector. */
    async function differences(c: Collection): Promise<string[]> {
      const expected = new Map<string, Float32Array>();
      for await (const page of collections.collectionVectors(c.tenantId, c.id))
        for (const v of page) expected.set(v.itemId, v.vector);
      const problems: string[] = [];
      const count = (await vectors.store.info(c.key))?.count ?? 0;
      if (count !== expected.size) problems.push(`${count} points for ${expected.size} items`);
      for (const [id, vector] of expected) {
        const [hit] = await vectors.store.search(c.key, { vector, k: 1 });
        if (hit?.id !== id || hit.score < 0.999)
          problems.push(`${id} answered by ${hit?.id} (${hit?.score})`);
      }
      return problems;
    }
    async function expectEqualToPostgres(c: Collection): Promise<void> {
      await waitUntil(
        `collection ${c.key} to equal PostgreSQL`,
        async () => (await differences(c)).length === 0,
        45_000,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}: ${(await differences(c)).slice(0, 5).join('; ')}`);
      });
    }
    const rebuilds = async () =>
      (await metrics.render())
        .split('\n')
        .filter((line) => line.startsWith('tributary_index_rebuilds_total{'))
        .map((line) => line.replace(/^tributary_index_rebuilds_total/, '').replace(',app="api"', ''));

    const appendRaw = (fields: Buffer[]) => redis.xadd(logKey, '*', ...fields);

    return {
      collection,
      embed,
      publish,
      append,
      appendRaw,
      fieldsOf,
      appendAndLose,
      expectEqualToPostgres,
      rebuilds,
      collections,
      vectors,
      redis,
      logKey,
    };
  }

  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('rebuilds a collection from PostgreSQL when one of its entries cannot be applied', async () => {
    const t = await startVectorStore();
    const c = await t.collection('unappliable');
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('a', 20)))(v)));
    // An entry whose binary vectors were cut short: decoding it fails.
    const broken = await t.embed(c, ids('b', 20));
    await t.publish(c, async (v) => {
      const fields = await t.fieldsOf(broken(v));
      const at = fields.findIndex((f) => f.toString() === 'x') + 1;
      fields[at] = fields[at]!.subarray(0, fields[at]!.length - 4);
      await t.appendRaw(fields);
    });
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('c', 20)))(v)));

    await t.expectEqualToPostgres(c);
    expect(await t.rebuilds()).toEqual(['{reason="apply_failed"} 1']);
  }, 60_000);

  it('rebuilds a collection whose entry was deleted from the log unread (XDEL), keeping later writes', async () => {
    const t = await startVectorStore();
    const c = await t.collection('deleted-entry');
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('a', 30)))(v)));
    const lost = await t.embed(c, ids('b', 30));
    await t.publish(c, (v) => t.appendAndLose('xdel', lost(v)));
    // The next entry is two versions on: a gap. Writes keep coming while the rebuild runs.
    for (const batch of ['c', 'd', 'e', 'f']) {
      await t.publish(c, async (v) => t.append((await t.embed(c, ids(batch, 30)))(v)));
    }
    await t.collections.markDeleted(c.tenantId, c.id, 'c3');
    await t.publish(c, (v) => t.append({ op: 'delete', key: c.key, version: v, ids: ['c3'] }));

    await t.expectEqualToPostgres(c);
    expect(await t.rebuilds()).toEqual(['{reason="version_gap"} 1']);
  }, 60_000);

  it('rebuilds what it missed when the log was trimmed past it, with nothing more for that collection', async () => {
    const t = await startVectorStore();
    const [missed, other] = [await t.collection('trimmed'), await t.collection('trimmed-other')];
    await t.publish(missed, async (v) => t.append((await t.embed(missed, ids('a', 25)))(v)));
    await t.publish(other, async (v) => t.append((await t.embed(other, ids('o', 5)))(v)));
    await t.expectEqualToPostgres(missed);
    await t.expectEqualToPostgres(other);
    // The last write of `missed` and one of `other`, appended while the consumer lags; the log is
    // trimmed up to the second before it reads them, and `missed` gets no entry after that.
    const last = await t.embed(missed, ids('b', 25));
    const next = await t.embed(other, ids('p', 5));
    await t.publish(missed, (mv) => t.publish(other, (ov) => t.appendAndLose('trim', last(mv), next(ov))));

    await t.expectEqualToPostgres(missed);
    await t.expectEqualToPostgres(other);
    expect(await t.rebuilds()).toEqual(['{reason="behind_source"} 1']);
  }, 60_000);

  it('catches up a collection whose last entry was lost (no entry after it) by the periodic check', async () => {
    const t = await startVectorStore({ INDEX_LOG_CHECK_EVERY_MS: '1000' });
    const c = await t.collection('lost-last');
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('a', 20)))(v)));
    await t.expectEqualToPostgres(c);
    // Committed, but the entry never reached the log (a Redis crash lost its last second of writes).
    await t.embed(c, ids('b', 20));
    await t.publish(c, () => Promise.resolve());

    await t.expectEqualToPostgres(c);
    expect(await t.rebuilds()).toEqual(['{reason="behind_source"} 1']);
  }, 60_000);

  it('applies a version seen before when its first write rolled back after the XADD, without a rebuild', async () => {
    const t = await startVectorStore();
    const c = await t.collection('rolled-back');
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('a', 10)))(v)));
    // Its entry is in the log, its transaction rolls back: the next write gets the same version.
    const rolledBack = await t.embed(c, ids('b', 10));
    await expect(
      t.publish(c, async (v) => {
        await t.append(rolledBack(v));
        throw new Error('the connection dropped before COMMIT');
      }),
    ).rejects.toThrow('before COMMIT');
    await t.publish(c, async (v) => t.append((await t.embed(c, ids('c', 10)))(v)));

    await t.expectEqualToPostgres(c);
    expect(await t.rebuilds()).toEqual([]);
  }, 60_000);

  it('applies a live entry read behind background ones first, each collection still in version order', async () => {
    const t = await startVectorStore({ INDEX_LOG_CHECK_EVERY_MS: '600000' });
    const [backfilled, live] = [await t.collection('backfilled'), await t.collection('live')];
    // Both collections exist and the start-up check is behind us.
    await t.publish(backfilled, async (v) => t.append((await t.embed(backfilled, ids('w', 5)))(v)));
    await t.publish(live, async (v) => t.append((await t.embed(live, ids('w', 5)))(v)));
    await t.expectEqualToPostgres(backfilled);
    await t.expectEqualToPostgres(live);

    // Six backfill pages, then a live write to the same collection (a dual-write) and one to
    // another, committed in turn and appended in one MULTI: the consumer reads them in one go.
    const entries: Buffer[][] = [];
    const collect = (c: typeof live, op: (version: string) => IndexOp, background: boolean) =>
      t.publish(c, async (v) => {
        entries.push(await t.fieldsOf({ ...op(v), ...(background ? { background: true as const } : {}) }));
      });
    for (let page = 0; page < 6; page++)
      await collect(backfilled, await t.embed(backfilled, ids(`p${page}-`, 100)), true);
    await collect(backfilled, await t.embed(backfilled, ids('dual', 5)), false);
    await collect(live, await t.embed(live, ids('fresh', 5)), false);
    const applied = jest.spyOn(
      t.vectors.store as unknown as { setVersion(key: string, v: string): void },
      'setVersion',
    );
    const multi = t.redis.multi();
    for (const fields of entries) multi.xadd(t.logKey, '*', ...fields);
    await multi.exec();

    await t.expectEqualToPostgres(backfilled);
    await t.expectEqualToPostgres(live);
    const order = applied.mock.calls.map(
      ([key, version]) => `${key === live.key ? 'live' : 'backfilled'}@${version}`,
    );
    // The live collection's write first, though read last; the backfilled one's seven in order.
    expect(order).toEqual(['live@2', ...[2, 3, 4, 5, 6, 7, 8].map((v) => `backfilled@${v}`)]);
    expect(await t.rebuilds()).toEqual([]);
  }, 60_000);
});
