import { randomBytes } from 'node:crypto';
import type { Redis } from '@tributary/redis';
import { appendIndexOp, decodeIndexOp, indexOpHeader, itemPayload } from './index-log';
import { createRedis, waitForRedis } from '@tributary/redis';

const HOUR = 3_600_000;

describe('index log (real Redis)', () => {
  let redis: Redis;
  // @tributary/testing depends on this library, so the Redis of the test run is read directly.
  const logKey = `t${randomBytes(5).toString('hex')}:index-log`;

  beforeAll(async () => {
    redis = createRedis(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379', 'producer', 'log-spec');
    await waitForRedis(redis);
  });
  afterAll(async () => {
    await redis.del(logKey);
    redis.disconnect();
  });

  it('reads back every operation as appended, vectors bit for bit', async () => {
    const points = Array.from({ length: 3 }, (_, i) => ({
      id: `p${i}`,
      vector: Float32Array.from({ length: 512 }, (_, k) => Math.sin(i * 1000 + k) / (k + 1)),
      payload: itemPayload({ streamId: 's', text: `text ${i} é 🌧`, metadata: { n: i } }),
    }));
    await appendIndexOp(
      redis,
      logKey,
      {
        op: 'upsert',
        key: 'c1',
        version: '1',
        dimensions: 512,
        points,
        acceptedAt: [1, 2, 3],
      },
      HOUR,
    );
    await appendIndexOp(redis, logKey, { op: 'delete', key: 'c1', version: '2', ids: ['p1'] }, HOUR);

    const read = await redis.xreadBuffer('COUNT', 10, 'STREAMS', logKey, '0');
    const ops = read![0]![1].map(([, fields]) => decodeIndexOp(fields));
    expect(read![0]![1].map(([, fields]) => indexOpHeader(fields))).toEqual([
      { key: 'c1', version: 1n, background: false },
      { key: 'c1', version: 2n, background: false },
    ]);
    expect(ops[1]).toEqual({ op: 'delete', key: 'c1', version: '2', ids: ['p1'] });
    expect(ops[0]).toMatchObject({
      op: 'upsert',
      key: 'c1',
      version: '1',
      dimensions: 512,
      acceptedAt: [1, 2, 3],
    });
    if (ops[0]!.op !== 'upsert') throw new Error('not an upsert');
    expect(ops[0]!.points.map((p) => p.id)).toEqual(['p0', 'p1', 'p2']);
    ops[0]!.points.forEach((p, i) => {
      expect(p.payload).toEqual(points[i]!.payload);
      expect(Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength)).toEqual(
        Buffer.from(points[i]!.vector.buffer),
      );
    });
  });

  it('marks a background entry, read back from its header and its decoded operation', async () => {
    const key = `${logKey}:background`;
    const point = { id: 'p0', vector: new Float32Array(4).fill(0.5), payload: {} };
    const up = {
      op: 'upsert' as const,
      key: 'c2',
      version: '7',
      dimensions: 4,
      points: [point],
      acceptedAt: [0],
    };
    await appendIndexOp(redis, key, { ...up, background: true }, HOUR);
    await appendIndexOp(
      redis,
      key,
      { op: 'delete', key: 'c2', version: '8', ids: ['p0'], background: true },
      HOUR,
    );
    await appendIndexOp(redis, key, { ...up, version: '9' }, HOUR);
    const read = (await redis.xreadBuffer('COUNT', 10, 'STREAMS', key, '0'))![0]![1];
    expect(read.map(([, fields]) => indexOpHeader(fields)?.background)).toEqual([true, true, false]);
    const ops = read.map(([, fields]) => decodeIndexOp(fields));
    expect(ops.map((op) => op.background)).toEqual([true, true, undefined]);
    expect(ops[1]).toEqual({ op: 'delete', key: 'c2', version: '8', ids: ['p0'], background: true });
    await redis.del(key);
  });

  it('refuses a point whose vector has other dimensions', async () => {
    await expect(
      appendIndexOp(
        redis,
        logKey,
        {
          op: 'upsert',
          key: 'c1',
          version: '3',
          dimensions: 4,
          points: [{ id: 'bad', vector: new Float32Array(3), payload: {} }],
          acceptedAt: [0],
        },
        HOUR,
      ),
    ).rejects.toThrow('has 3 dimensions, not 4');
  });

  it('trims entries older than the retention on append and keeps the recent ones', async () => {
    const key = `${logKey}:trim`;
    const retentionMs = 60_000;
    // Entries stamped two retentions ago (explicit ids), as a log left alone that long holds them.
    const old = Date.now() - 2 * retentionMs;
    const oldIds = [`${old}-0`, `${old}-1`, `${old + 1}-0`];
    for (const id of oldIds)
      await redis.xadd(key, id, 'op', 'delete', 'k', 'c1', 'v', '1', 'b', '{"ids":[]}');
    // Upserts as workers append them (three 512-d points: 6 KB, more than a stream node holds).
    const upsert = (version: string) => ({
      op: 'upsert' as const,
      key: 'c1',
      version,
      dimensions: 512,
      points: Array.from({ length: 3 }, (_, i) => ({
        id: `p${i}`,
        vector: new Float32Array(512).fill(i + 1),
        payload: {},
      })),
      acceptedAt: [0, 0, 0],
    });
    const recent = [
      await appendIndexOp(redis, key, upsert('2'), retentionMs),
      await appendIndexOp(redis, key, upsert('3'), retentionMs),
      await appendIndexOp(redis, key, { op: 'delete', key: 'c1', version: '4', ids: ['p0'] }, retentionMs),
    ];
    const ids = ((await redis.xrange(key, '-', '+')) as [string, string[]][]).map(([id]) => id);
    expect(ids).toEqual(recent);
    await redis.del(key);
  });
});
