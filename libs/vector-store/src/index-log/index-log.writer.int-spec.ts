import { randomBytes } from 'node:crypto';
import { createRedis, waitForRedis, type Redis } from '@tributary/redis';
import type { CollectionVersions } from '../vector-store';
import { VectorStoreError } from '../vector-store';
import { decodeIndexOp } from './index-log';
import { IndexLogWriter } from './index-log.writer';

const HOUR = 3_600_000;

/** Versions as the database gives them: one at a time per key, given back when `publish` rejects. */
function memoryVersions(): CollectionVersions & { of(key: string): number } {
  const current = new Map<string, number>();
  const held = new Map<string, Promise<unknown>>();
  return {
    of: (key) => current.get(key) ?? 0,
    async next<T>(key: string, publish: (version: string) => Promise<T>): Promise<T> {
      while (held.has(key)) await held.get(key)!.catch(() => undefined);
      const version = (current.get(key) ?? 0) + 1;
      const work = publish(String(version));
      held.set(key, work);
      try {
        const result = await work;
        current.set(key, version);
        return result;
      } finally {
        held.delete(key);
      }
    },
  };
}

describe('IndexLogWriter (real Redis)', () => {
  let redis: Redis;
  // @tributary/testing depends on this library, so the Redis of the test run is read directly.
  const logKey = `t${randomBytes(5).toString('hex')}:index-log`;

  beforeAll(async () => {
    redis = createRedis(process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379', 'producer', 'writer-spec');
    await waitForRedis(redis);
  });
  afterAll(async () => {
    await redis.del(logKey);
    redis.disconnect();
  });

  const entries = async () =>
    ((await redis.xrangeBuffer(logKey, '-', '+')) as [Buffer, Buffer[]][]).map(([, f]) => decodeIndexOp(f));
  const vector = (...v: number[]) => Float32Array.from(v);

  it('appends every write with its collection’s next version, in version order, with its context', async () => {
    const versions = memoryVersions();
    const writer = new IndexLogWriter({ redis, logKey, retentionMs: HOUR, versions });
    await writer.ensureCollection('c-a', 2);
    await Promise.all(
      ['p', 'q', 'r'].map((id, i) =>
        writer.upsert('c-a', [{ id, vector: vector(1, i + 1), payload: { n: i } }], {
          acceptedAt: [1000 + i],
        }),
      ),
    );
    await writer.delete('c-a', ['q']);
    await writer.upsert('c-b', [{ id: 'x', vector: vector(0, 1, 0), payload: {} }]);

    const log = await entries();
    expect(log.map((op) => [op.key, op.op, op.version])).toEqual([
      ['c-a', 'upsert', '1'],
      ['c-a', 'upsert', '2'],
      ['c-a', 'upsert', '3'],
      ['c-a', 'delete', '4'],
      ['c-b', 'upsert', '1'],
    ]);
    const first = log[0]!;
    if (first.op !== 'upsert') throw new Error('not an upsert');
    expect(first.dimensions).toBe(2);
    expect([first.acceptedAt[0]! >= 1000, first.points[0]!.payload]).toEqual([true, { n: 0 }]);
    expect(log[3]).toEqual({ op: 'delete', key: 'c-a', version: '4', ids: ['q'] });
    // Dimensions from the first point when the collection was not ensured in this process.
    expect(log[4]).toEqual(expect.objectContaining({ dimensions: 3 }));
  });

  it('refuses bad writes before taking a version, and gives the version back when the append fails', async () => {
    const versions = memoryVersions();
    const writer = new IndexLogWriter({ redis, logKey, retentionMs: HOUR, versions });
    await writer.ensureCollection('c-bad', 2);
    await expect(writer.upsert('c-bad', [{ id: 'z', vector: vector(0, 0), payload: {} }])).rejects.toThrow(
      VectorStoreError,
    );
    await expect(writer.upsert('c-bad', [{ id: 'w', vector: vector(1, 0, 0), payload: {} }])).rejects.toThrow(
      'dimensions',
    );
    expect(versions.of('c-bad')).toBe(0);

    const broken = new IndexLogWriter({ redis, logKey: logKey, retentionMs: 0.5, versions });
    await expect(broken.delete('c-bad', ['a'])).rejects.toThrow('retention');
    expect(versions.of('c-bad')).toBe(0);
    // A caller's own versions (a transaction it holds) are used instead of the writer's.
    const seen: string[] = [];
    await writer.delete('c-bad', ['a'], {
      versions: { next: (_key, publish) => (seen.push('caller'), publish('41')) },
    });
    expect(seen).toEqual(['caller']);
    expect((await entries()).at(-1)).toEqual({ op: 'delete', key: 'c-bad', version: '41', ids: ['a'] });
  });
});
