import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import { call } from './support/app-process';
import { drained, newTenant, startPlatform, tweet, type Platform } from './support/pipeline';

/** Sends a batch until the API acknowledges it (202), as a well-behaved client does on 429/503. */
async function sendUntilAccepted(
  base: string,
  key: string,
  streamId: string,
  items: { id: string; text: string }[],
) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const r = await call(base, 'POST', `/v1/streams/${streamId}/items`, key, { items }).catch(
      () => undefined,
    );
    if (r?.status === 202) return r.body as { accepted: number; duplicates: number };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the API never acknowledged the batch');
}

async function pointsOf(base: string, key: string, collection: string): Promise<number> {
  const list = await call(base, 'GET', '/v1/collections', key);
  return (
    (list.body.data as { name: string; points: number }[]).find((c) => c.name === collection)?.points ?? 0
  );
}

describe('durability (real PostgreSQL, real Redis with AOF, real processes)', () => {
  let redis: RedisServer;
  let redisDir: string;
  let redisPort: number;
  let platform: Platform;
  let base: string;

  beforeAll(async () => {
    redisDir = mkdtempSync(path.join(tmpdir(), 'tributary-redis-aof-'));
    redisPort = await freePort();
    redis = await startRedisServer({ dataDir: redisDir, port: redisPort });
    platform = await startPlatform({ REDIS_URL: redis.url });
    base = platform.base;
    await platform.start('api');
  });
  // Each test starts the worker it needs; one that failed or timed out must not leave it running.
  afterEach(() => platform.stop('worker', 'SIGKILL'));
  afterAll(async () => {
    await platform.close();
    await redis.stop();
    rmSync(redisDir, { recursive: true, force: true });
  });

  it('a worker killed with SIGKILL mid-batch loses nothing and indexes every item exactly once', async () => {
    const { key } = await newTenant(base, 'kill9');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'kill9', kind: 'text' })).body;
    const total = 3000;
    for (let i = 0; i < total; i += 1000) {
      const items = Array.from({ length: 1000 }, (_, k) => ({ id: `k${i + k}`, text: tweet(i + k) }));
      expect((await sendUntilAccepted(base, key, stream.id, items)).accepted).toBe(1000);
    }
    await platform.start('worker');
    await waitUntil(
      'the worker to be part-way through',
      async () => (await call(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters.embedded >= 200,
      120_000,
      20,
    );
    await platform.stop('worker', 'SIGKILL');
    const partial = (await call(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters;
    expect(partial.embedded).toBeLessThan(total);

    await platform.start('worker');
    expect(await drained(base, key, stream.id, 180_000)).toEqual({
      accepted: total,
      embedded: total,
      failed: 0,
      lag: 0,
    });
    await waitUntil(
      'every point to be indexed',
      async () => (await pointsOf(base, key, 'kill9')) === total,
      30_000,
      100,
    );
    // Exactly once: no extra points appear, and the counters did not count a redone item twice.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await pointsOf(base, key, 'kill9')).toBe(total);
    expect((await call(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters.embedded).toBe(total);
    await platform.stop('worker');
  });

  it('a Redis restart in the middle of ingest loses nothing that was acknowledged', async () => {
    const { key } = await newTenant(base, 'redis-restart');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'restart', kind: 'text' })).body;
    await platform.start('worker');
    let acknowledged = 0;
    for (let batch = 0; batch < 20; batch++) {
      if (batch === 6) {
        await redis.stop();
        // While Redis is down nothing is acknowledged: the API says so.
        const refused = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
          items: [{ id: 'during-outage', text: 'sent while redis was down' }],
        });
        expect([429, 503]).toContain(refused.status);
        redis = await startRedisServer({ dataDir: redisDir, port: redisPort });
      }
      const items = Array.from({ length: 100 }, (_, k) => ({
        id: `r${batch * 100 + k}`,
        text: tweet(batch * 100 + k),
      }));
      acknowledged += (await sendUntilAccepted(base, key, stream.id, items)).accepted;
    }
    // The refused item was not acknowledged, so sending it again is not a duplicate.
    const resent = await sendUntilAccepted(base, key, stream.id, [
      { id: 'during-outage', text: 'sent while redis was down' },
    ]);
    acknowledged += resent.accepted;
    expect(acknowledged).toBe(2001);
    expect(await drained(base, key, stream.id, 180_000)).toEqual({
      accepted: 2001,
      embedded: 2001,
      failed: 0,
      lag: 0,
    });
    await waitUntil(
      'every point to be indexed',
      async () => (await pointsOf(base, key, 'restart')) === 2001,
      60_000,
      100,
    );
    await platform.stop('worker');
  });

  it('racing duplicate deliveries of the same ids count and index each item once', async () => {
    const { key } = await newTenant(base, 'race');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'race', kind: 'text' })).body;
    await platform.start('worker');
    const items = Array.from({ length: 500 }, (_, i) => ({ id: `d${i}`, text: tweet(i) }));
    const results = await Promise.all([1, 2, 3].map(() => sendUntilAccepted(base, key, stream.id, items)));
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(500);
    expect(await drained(base, key, stream.id)).toEqual({ accepted: 500, embedded: 500, failed: 0, lag: 0 });
    await waitUntil(
      'every point to be indexed',
      async () => (await pointsOf(base, key, 'race')) === 500,
      30_000,
      100,
    );
    await platform.stop('worker');
  });

  it('the embedded index survives an API crash, and is rebuilt from PostgreSQL to the same content when lost', async () => {
    const { key } = await newTenant(base, 'rebuild');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'rebuild', kind: 'text' })).body;
    await platform.start('worker');
    const items = Array.from({ length: 400 }, (_, i) => ({
      id: `b${i}`,
      text: tweet(i),
      metadata: { even: i % 2 === 0 },
    }));
    await sendUntilAccepted(base, key, stream.id, items);
    await drained(base, key, stream.id);
    await waitUntil(
      'every point to be indexed',
      async () => (await pointsOf(base, key, 'rebuild')) === 400,
      30_000,
      100,
    );
    await platform.stop('worker');
    const queries = ['rain and storm', 'market price', 'coffee and pasta', 'release with a bug'];
    const snapshot = async () =>
      Promise.all(
        queries.map(async (query) => {
          const r = await call(base, 'POST', '/v1/collections/rebuild/search', key, {
            query,
            k: 10,
            filter: { even: true },
          });
          expect(r.status).toBe(200);
          const hits = r.body.data as { id: string; score: number }[];
          return hits.map((h) => [h.id, Number(h.score.toFixed(5))]);
        }),
      );
    const before = await snapshot();
    expect(before[0]).toHaveLength(10);

    await platform.stop('api', 'SIGKILL');
    await platform.start('api');
    expect(await pointsOf(base, key, 'rebuild')).toBe(400);
    expect(await snapshot()).toEqual(before);

    // Lose the index files altogether (and break another collection's): both are rebuilt.
    await platform.stop('api', 'SIGKILL');
    const dirs = readdirSync(platform.vectorDir).filter((d) => d.includes('--rebuild--'));
    expect(dirs).toHaveLength(1);
    for (const file of readdirSync(path.join(platform.vectorDir, dirs[0]!)))
      writeFileSync(path.join(platform.vectorDir, dirs[0]!, file), 'corrupted');
    const api = await platform.start('api', { LOG_LEVEL: 'info' });
    expect(api.lines.join('\n')).toMatch(/rebuil/i);
    expect(await pointsOf(base, key, 'rebuild')).toBe(400);
    expect(await snapshot()).toEqual(before);
  });
});
