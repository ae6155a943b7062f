import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueue, embedQueueName } from '@tributary/queue';
import { createRedis, redisKeys } from '@tributary/redis';
import { decodeIndexOp, indexOpHeader } from '@tributary/vector-store';
import { freePort, startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import { call, callFrom } from './support/app-process';
import {
  DURABILITY_ENV,
  startLauncherPlatform,
  startSeparatePlatform,
  type DurabilityPlatform,
} from './support/durability-platform';
import { drained, newTenant, startPlatform, tweet, type Platform } from './support/pipeline';
import { signWebhookForTest } from './support/webhook';

/** Sends a batch until the API acknowledges it (202), as a well-behaved client does on 429/503. */
async function sendUntilAccepted(
  base: string,
  key: string,
  streamId: string,
  items: { id: string; text: string }[],
) {
  for (let attempt = 0; attempt < 600; attempt++) {
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

async function countersOf(base: string, key: string, streamId: string) {
  return (await call(base, 'GET', `/v1/streams/${streamId}`, key)).body.counters as {
    accepted: number;
    embedded: number;
    searchable: number;
    failed: number;
    lag: number;
  };
}

/** Items of a stream by status, as PostgreSQL holds them. */
async function rowsOf(p: DurabilityPlatform, streamId: string): Promise<Record<string, number>> {
  const rows = await p.query<{ status: string; n: string }>(
    `SELECT status::text AS status, count(*) AS n FROM item WHERE stream_id = $1::uuid GROUP BY status`,
    [streamId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** `tributary_items_requeued_total` over every model (0 while the sweep never fired). */
function requeuedIn(metrics: string): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('tributary_items_requeued_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** The API's Prometheus text (its /metrics). */
async function apiMetrics(p: DurabilityPlatform): Promise<string> {
  return (await fetch(`${p.base}/metrics`)).text();
}

/** The sum of a counter's series in Prometheus text. */
function counterIn(metrics: string, name: string, match = ''): number {
  return metrics
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && line.includes(match))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

const cacheHitsIn = (metrics: string) =>
  counterIn(metrics, 'tributary_embedding_cache_hits_total', 'model="use-lite@1"');
const rebuildsIn = (metrics: string) => counterIn(metrics, 'tributary_index_rebuilds_total');

/** Figures for the report, one JSON line per test. */
function report(figures: Record<string, unknown>): void {
  process.stdout.write(`durability figures: ${JSON.stringify(figures)}\n`);
}

async function newStream(p: DurabilityPlatform, key: string, name: string): Promise<{ id: string }> {
  const r = await call(p.base, 'POST', '/v1/streams', key, { name, kind: 'text' });
  expect(r.status).toBe(201);
  return r.body as { id: string };
}

const MODES: [string, () => Promise<DurabilityPlatform>][] = [
  ["the default mode (npm run up: the launcher's PostgreSQL and redis-server)", startLauncherPlatform],
  ["a separately started PostgreSQL (the test run's) and redis-server", startSeparatePlatform],
];

describe.each(MODES)('durability in %s', (mode, start) => {
  let p: DurabilityPlatform;

  beforeAll(async () => {
    const started = Date.now();
    p = await start();
    report({ mode, platformUpMs: Date.now() - started });
  }, 300_000);
  afterAll(async () => {
    const started = Date.now();
    await p?.close();
    report({ mode, platformClosedMs: Date.now() - started });
  });

  it('a worker killed with SIGKILL mid-batch: every accepted item is embedded and indexed exactly once, by redelivery within EMBED_WORKER_LOCK_MS + 30 s', async () => {
    const { key } = await newTenant(p.base, 'kill9');
    const stream = await newStream(p, key, 'kill9');
    const total = 3000;
    for (let i = 0; i < total; i += 1000) {
      const items = Array.from({ length: 1000 }, (_, k) => ({ id: `k${i + k}`, text: tweet(i + k) }));
      expect((await sendUntilAccepted(p.base, key, stream.id, items)).accepted).toBe(1000);
    }
    await waitUntil(
      'the worker to be part-way through',
      async () => (await countersOf(p.base, key, stream.id)).embedded >= 300,
      120_000,
      20,
    );
    const requeuedBefore = requeuedIn(await p.workerMetrics());
    const killedAt = Date.now();
    await p.killWorker();
    const partial = await countersOf(p.base, key, stream.id);
    expect(partial.embedded).toBeLessThan(total);

    // The bound of the issue, as the deadline: the sweep (every second, for items queued over 3 s)
    // would find their jobs alive, so only BullMQ's redelivery of the dead worker's jobs can do it.
    let recoveredMs: number | undefined;
    try {
      await waitUntil(
        'every item to be embedded, stored and searchable',
        async () =>
          (await countersOf(p.base, key, stream.id)).searchable === total &&
          (await rowsOf(p, stream.id))['embedded'] === total &&
          (await pointsOf(p.base, key, 'kill9')) === total,
        Math.max(1, p.workerLockMs + 30_000 - (Date.now() - killedAt)),
        100,
      );
      recoveredMs = Date.now() - killedAt;
    } finally {
      const rows = await rowsOf(p, stream.id);
      report({
        mode,
        test: 'kill -9 of the worker',
        items: total,
        embeddedAtKill: partial.embedded,
        killToIndexedMs: recoveredMs ?? null,
        stuckQueued: rows['queued'] ?? 0,
        pointsMissing: total - (await pointsOf(p.base, key, 'kill9')),
        requeued: requeuedBefore + requeuedIn(await p.workerMetrics()),
      });
    }
    expect(await countersOf(p.base, key, stream.id)).toEqual({
      accepted: total,
      embedded: total,
      searchable: total,
      failed: 0,
      lag: 0,
    });
    expect(await rowsOf(p, stream.id)).toEqual({ embedded: total });
    expect(requeuedBefore + requeuedIn(await p.workerMetrics())).toBe(0);
  });

  it('50 parallel ingest requests (single items and small batches, one stream and several): no 5xx, every 202 item searchable, counters equal to rows and points', async () => {
    const { key } = await newTenant(p.base, 'parallel');
    const names = ['par-a', 'par-b', 'par-c'];
    const streams: { id: string }[] = [];
    for (const name of names) streams.push(await newStream(p, key, name));
    const sentence = (s: number, i: number) =>
      `${names[s]} item ${i}: ${tweet(i * 37 + s * 11)} while ${tweet(i * 13 + 5)}`;
    const requests: { stream: number; items: { id: string; text: string }[] }[] = [];
    let n = 0;
    const add = (stream: number, size: number) => {
      const items = Array.from({ length: size }, () => {
        n++;
        return { id: `p${n}`, text: sentence(stream, n) };
      });
      requests.push({ stream, items });
    };
    for (let i = 0; i < 20; i++) add(0, 1);
    for (let i = 0; i < 10; i++) add(0, 5);
    for (let i = 0; i < 10; i++) add(1, 1);
    for (let i = 0; i < 10; i++) add(2, 3);
    const answers = await Promise.all(
      requests.map((r) =>
        call(p.base, 'POST', `/v1/streams/${streams[r.stream]!.id}/items`, key, { items: r.items }),
      ),
    );
    const statuses: Record<number, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    const acceptedItems = requests.flatMap((r, i) => (answers[i]!.status === 202 ? r.items : []));
    const unsearchable: string[] = [];
    const drift: Record<string, unknown> = {};
    try {
      expect(statuses).toEqual({ 202: requests.length });
      for (const [i, a] of answers.entries())
        expect(a.body).toEqual({ accepted: requests[i]!.items.length, duplicates: 0 });

      for (const [s, stream] of streams.entries()) {
        const expected = requests.filter((r) => r.stream === s).reduce((sum, r) => sum + r.items.length, 0);
        expect(await drained(p.base, key, stream.id)).toEqual({
          accepted: expected,
          embedded: expected,
          searchable: expected,
          failed: 0,
          lag: 0,
        });
        expect(await rowsOf(p, stream.id)).toEqual({ embedded: expected });
        expect(await pointsOf(p.base, key, names[s]!)).toBe(expected);
      }
      // Each acknowledged item is found by its exact text.
      for (const [s, name] of names.entries()) {
        for (const r of requests.filter((q) => q.stream === s)) {
          for (const item of r.items) {
            const found = await call(p.base, 'POST', `/v1/collections/${name}/search`, key, {
              query: item.text,
              k: 10,
            });
            expect(found.status).toBe(200);
            if (!(found.body.data as { id: string }[]).some((h) => h.id === item.id))
              unsearchable.push(item.id);
          }
        }
      }
      expect(unsearchable).toEqual([]);
    } finally {
      for (const [s, stream] of streams.entries()) {
        drift[names[s]!] = {
          counters: await countersOf(p.base, key, stream.id),
          rows: await rowsOf(p, stream.id),
          points: await pointsOf(p.base, key, names[s]!),
        };
      }
      report({
        mode,
        test: '50 parallel ingests',
        requests: requests.length,
        items: n,
        statuses,
        acceptedItems: acceptedItems.length,
        unsearchable: unsearchable.length,
        streams: drift,
      });
    }
  });

  it('racing duplicate deliveries of the same ids count and index each item once', async () => {
    const { key } = await newTenant(p.base, 'race');
    const stream = await newStream(p, key, 'race');
    const items = Array.from({ length: 500 }, (_, i) => ({ id: `d${i}`, text: tweet(i) }));
    const results = await Promise.all([1, 2, 3].map(() => sendUntilAccepted(p.base, key, stream.id, items)));
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(500);
    expect(await drained(p.base, key, stream.id)).toEqual({
      accepted: 500,
      embedded: 500,
      searchable: 500,
      failed: 0,
      lag: 0,
    });
    expect(await rowsOf(p, stream.id)).toEqual({ embedded: 500 });
    expect(await pointsOf(p.base, key, 'race')).toBe(500);
  });

  it('redis-server killed with SIGKILL mid-ingest and restarted on its AOF: everything acknowledged is embedded and indexed once', async () => {
    const { key } = await newTenant(p.base, 'redis-crash');
    const stream = await newStream(p, key, 'crash');
    // Another stream of the same model keeps the queue busy until the crashed-on stream has
    // drained: a sweep that waits for an idle queue would never run.
    const busyStream = await newStream(p, key, 'crash-busy');
    const queue = createQueue(
      embedQueueName('use-lite@1'),
      { redisUrl: p.redisUrl, prefix: p.redisPrefix },
      'durability-test',
    );
    let busy = true;
    let busyAcknowledged = 0;
    const keepingBusy = (async () => {
      while (busy) {
        // Jobs of up to 100 items waiting: kept at about 16 (the stream's lag would count lost items).
        const waiting = await queue
          .getJobCounts('waiting')
          .then((c) => c.waiting ?? 0)
          .catch(() => Infinity);
        if (waiting >= 16) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        const first = busyAcknowledged;
        const items = Array.from({ length: 400 }, (_, k) => ({
          id: `b${first + k}`,
          text: tweet(first + k),
        }));
        const { accepted } = await sendUntilAccepted(p.base, key, busyStream.id, items);
        busyAcknowledged += accepted;
      }
    })();
    // Two clients, 100 items a request: ingest outpaces the worker.
    const perClient = 15;
    const total = 2 * perClient * 100;
    let acknowledged = 0;
    const sending = Promise.all(
      [0, 1].map(async (client) => {
        for (let batch = 0; batch < perClient; batch++) {
          const first = (client * perClient + batch) * 100;
          const items = Array.from({ length: 100 }, (_, k) => ({
            id: `c${first + k}`,
            text: tweet(first + k),
          }));
          // Read after the await: the two clients add to one total.
          const { accepted } = await sendUntilAccepted(p.base, key, stream.id, items);
          acknowledged += accepted;
        }
      }),
    );
    await waitUntil('800 items to be acknowledged', () => Promise.resolve(acknowledged >= 800), 120_000, 5);
    // Where the test restarts Redis, everything written after this point is lost with the AOF's
    // tail, as after a power cut: at least 400 acknowledged items whose jobs Redis forgets.
    const durable = p.canLoseAofTail ? p.aofSize() : undefined;
    const acknowledgedAtDurable = acknowledged;
    await waitUntil('400 more to be acknowledged', () => Promise.resolve(acknowledged >= 1200), 120_000, 5);
    const acknowledgedAtCrash = acknowledged;
    const atCrash = await countersOf(p.base, key, stream.id);
    const requeuedBefore = requeuedIn(await p.workerMetrics().catch(() => ''));
    await p.crashRedis(durable);
    await sending;
    expect(acknowledged).toBe(total);
    try {
      try {
        expect(await drained(p.base, key, stream.id, 120_000)).toEqual({
          accepted: total,
          embedded: total,
          searchable: total,
          failed: 0,
          lag: 0,
        });
      } finally {
        busy = false;
        await keepingBusy;
        await queue.close();
      }
      expect(await drained(p.base, key, busyStream.id, 120_000)).toEqual({
        accepted: busyAcknowledged,
        embedded: busyAcknowledged,
        searchable: busyAcknowledged,
        failed: 0,
        lag: 0,
      });
      expect(await rowsOf(p, stream.id)).toEqual({ embedded: total });
      expect(await rowsOf(p, busyStream.id)).toEqual({ embedded: busyAcknowledged });
      expect(await pointsOf(p.base, key, 'crash')).toBe(total);
      expect(await pointsOf(p.base, key, 'crash-busy')).toBe(busyAcknowledged);
    } finally {
      report({
        mode,
        test: 'redis-server SIGKILL mid-ingest',
        aofTailLost: durable !== undefined,
        acknowledgedAfterDurablePoint:
          durable !== undefined ? acknowledgedAtCrash - acknowledgedAtDurable : 0,
        lagAtCrash: atCrash.lag,
        counters: await countersOf(p.base, key, stream.id),
        rows: await rowsOf(p, stream.id),
        points: await pointsOf(p.base, key, 'crash'),
        busyStream: {
          acknowledged: busyAcknowledged,
          counters: await countersOf(p.base, key, busyStream.id),
          points: await pointsOf(p.base, key, 'crash-busy'),
        },
        requeued: requeuedBefore + requeuedIn(await p.workerMetrics().catch(() => '')),
      });
    }
  });

  it("tenant B's first embedding and first text search of a text tenant A just used are cache misses (EMBEDDING_CACHE_SCOPE unset: per tenant)", async () => {
    const a = await newTenant(p.base, 'scope-a');
    const b = await newTenant(p.base, 'scope-b');
    for (const t of [a, b]) await newStream(p, t.key, 'notes');
    const embed = async (key: string, input: string) => {
      const r = await call(p.base, 'POST', '/v1/embeddings', key, { input });
      expect(r.status).toBe(200);
      return r.headers.get('x-tributary-cache');
    };
    // Search answers carry no cache header: the API's hit counter says whether the query was cached.
    const searchHits = async (key: string, query: string) => {
      const before = cacheHitsIn(await apiMetrics(p));
      const r = await call(p.base, 'POST', '/v1/collections/notes/search', key, { query, k: 3 });
      expect(r.status).toBe(200);
      return cacheHitsIn(await apiMetrics(p)) - before;
    };
    const text = 'the merger with Globex closes on Friday';
    expect(await embed(a.key, text)).toBe('miss');
    expect(await embed(a.key, text)).toBe('hit');
    expect(await embed(b.key, text)).toBe('miss');
    expect(await embed(b.key, text)).toBe('hit');

    const query = 'who is leaving the board';
    expect(await searchHits(a.key, query)).toBe(0);
    expect(await searchHits(a.key, query)).toBe(1);
    expect(await searchHits(b.key, query)).toBe(0);
  });

  it('index-log entries deleted (XDEL) before the API read them: the collection is rebuilt to equal PostgreSQL, every item found by its text', async () => {
    const { key } = await newTenant(p.base, 'log-gap');
    const stream = await newStream(p, key, 'gap');
    const sentence = (i: number) => `gap item ${i}: ${tweet(i * 37 + 1)} while ${tweet(i * 13 + 5)}`;
    const items = (from: number, n: number) =>
      Array.from({ length: n }, (_, k) => ({ id: `g${from + k}`, text: sentence(from + k) }));
    const total = 900;
    await sendUntilAccepted(p.base, key, stream.id, items(0, 100));
    await drained(p.base, key, stream.id);
    expect(await pointsOf(p.base, key, 'gap')).toBe(100);
    const [{ store_key: storeKey } = { store_key: '' }] = await p.query<{ store_key: string }>(
      'SELECT c.store_key FROM collection c JOIN stream s ON s.collection_id = c.id WHERE s.id = $1::uuid',
      [stream.id],
    );
    const rebuildsBefore = rebuildsIn(await apiMetrics(p));
    const redis = createRedis(p.redisUrl, 'worker', 'durability-test');
    const logKey = redisKeys(p.redisPrefix).indexLog;
    // The worker holds the next 800 items until the API is frozen too: the API cannot read their
    // log entries (but perhaps the first, answering an XREAD it was blocked in) before some are gone.
    // A micro-batch holds at most max(4 × BATCH_MAX_SIZE, 64) = 256 items: at least 4 entries.
    const resumeWorker = p.freeze('worker');
    let resumeApi: (() => void) | undefined;
    let deleted: { id: string; points: number }[] = [];
    try {
      for (let from = 100; from < total; from += 100)
        await sendUntilAccepted(p.base, key, stream.id, items(from, 100));
      resumeApi = p.freeze('api');
      const newest = await redis.xrevrange(logKey, '+', '-', 'COUNT', 1);
      const after = newest[0] ? `(${newest[0][0]}` : '-';
      resumeWorker();
      let entries: { id: string; points: number }[] = [];
      await waitUntil(
        'the worker to log the 800 items',
        async () => {
          entries = (await redis.xrangeBuffer(logKey, after, '+')).flatMap(([id, fields]) => {
            if (indexOpHeader(fields)?.key !== storeKey) return [];
            const op = decodeIndexOp(fields);
            return [{ id: id.toString(), points: op.op === 'upsert' ? op.points.length : 0 }];
          });
          return entries.reduce((sum, e) => sum + e.points, 0) === total - 100;
        },
        120_000,
        100,
      );
      // All but the first and the last: a gap the API meets with a later entry in hand.
      expect(entries.length).toBeGreaterThanOrEqual(3);
      deleted = entries.slice(1, -1);
      expect(await redis.xdel(logKey, ...deleted.map((e) => e.id))).toBe(deleted.length);
    } finally {
      resumeWorker();
      resumeApi?.();
      redis.disconnect();
    }
    const unfound: string[] = [];
    try {
      expect(await rowsOf(p, stream.id)).toEqual({ embedded: total });
      // Searchable once the rebuild from PostgreSQL reflects the collection's version.
      await drained(p.base, key, stream.id, 60_000);
      expect(await pointsOf(p.base, key, 'gap')).toBe(total);
      expect(rebuildsIn(await apiMetrics(p))).toBeGreaterThan(rebuildsBefore);
      for (const item of items(0, total)) {
        const found = await call(p.base, 'POST', '/v1/collections/gap/search', key, {
          query: item.text,
          k: 10,
        });
        expect(found.status).toBe(200);
        if (!(found.body.data as { id: string }[]).some((h) => h.id === item.id)) unfound.push(item.id);
      }
      expect(unfound).toEqual([]);
    } finally {
      report({
        mode,
        test: 'index-log entries deleted unread',
        items: total,
        entriesDeleted: deleted.length,
        pointsInDeletedEntries: deleted.reduce((sum, e) => sum + e.points, 0),
        points: await pointsOf(p.base, key, 'gap'),
        rebuilds: rebuildsIn(await apiMetrics(p)) - rebuildsBefore,
        unfound: unfound.length,
      });
    }
  });

  it('an address failing authentication AUTH_FAILURES_PER_ADDRESS times gets 429 with Retry-After on tenant, admin and webhook routes; other addresses, and its recently used key, still work', async () => {
    // Addresses of this test's own (Linux loopback): the other tests come from 127.0.0.1.
    const guesser = '127.0.0.2';
    const other = '127.0.0.3';
    const limit = Number(DURABILITY_ENV.AUTH_FAILURES_PER_ADDRESS);
    const { tenantId, key } = await newTenant(p.base, 'auth-limit');
    const stream = (await newStream(p, key, 'hooked')) as { id: string; webhook: { secret: string } };
    const freshKey = async () => {
      const r = await call(p.base, 'POST', `/v1/admin/tenants/${tenantId}/keys`, p.adminKey, {});
      expect(r.status).toBe(201);
      return r.body.secret as string;
    };
    const [unusedKey, otherKey] = [await freshKey(), await freshKey()];
    const from = (address: string, method: string, url: string, options?: Parameters<typeof callFrom>[4]) =>
      callFrom(address, p.base, method, url, options);
    const hook = (address: string, secret: string) => {
      const body = JSON.stringify({
        items: [{ id: `w-${address}-${secret.length}`, text: 'a webhook item' }],
      });
      return from(address, 'POST', `/v1/hooks/${stream.id}`, {
        body,
        headers: signWebhookForTest(secret, Math.floor(Date.now() / 1000), body),
      });
    };
    // The tenant's key, used from the guesser's address before the failures.
    expect((await from(guesser, 'GET', '/v1/me', { key })).status).toBe(200);

    const failures = [
      () => from(guesser, 'GET', '/v1/me', { key: 'trb_not-a-key-0123456789' }),
      () => from(guesser, 'GET', '/v1/me', { key: 'trb_not-a-key-0123456789' }),
      () => from(guesser, 'GET', '/v1/admin/tenants', { key: 'trb_admin_guess-0123456789abcdef' }),
      () => hook(guesser, 'whsec_guess'),
      () => from(guesser, 'GET', '/v1/streams', { key: 'trb_another-guess-0123456789' }),
    ];
    expect(failures).toHaveLength(limit);
    for (const fail of failures) expect((await fail()).status).toBe(401);

    const refused = {
      tenantRoute: await from(guesser, 'GET', '/v1/me', { key: 'trb_yet-another-guess-0123456789' }),
      adminRoute: await from(guesser, 'GET', '/v1/admin/tenants', {
        key: 'trb_admin_guess-0123456789abcdef',
      }),
      adminRouteRightKey: await from(guesser, 'GET', '/v1/admin/tenants', { key: p.adminKey }),
      webhook: await hook(guesser, 'whsec_guess'),
      validKeyNeverUsedHere: await from(guesser, 'GET', '/v1/me', { key: unusedKey }),
      // TRUST_PROXY unset: the address is the TCP peer, whatever the client claims.
      spoofedForwardedFor: await from(guesser, 'GET', '/v1/me', {
        key: 'trb_not-a-key-0123456789',
        headers: { 'x-forwarded-for': '203.0.113.7' },
      }),
    };
    for (const [route, r] of Object.entries(refused)) {
      expect({ route, status: r.status }).toEqual({ route, status: 429 });
      const retryAfter = Number(r.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // A key this deployment verified recently keeps working from the refused address.
    expect((await from(guesser, 'GET', '/v1/me', { key })).status).toBe(200);
    // Another address is not refused: a wrong key is a plain 401, right ones work.
    expect((await from(other, 'GET', '/v1/me', { key: 'trb_not-a-key-0123456789' })).status).toBe(401);
    expect((await from(other, 'GET', '/v1/me', { key: otherKey })).status).toBe(200);
    expect((await from(other, 'GET', '/v1/admin/tenants', { key: p.adminKey })).status).toBe(200);
    expect((await hook(other, stream.webhook.secret)).status).toBe(202);
  });

  it('the rate limiter fails closed: with redis-server down a tenant request gets 503 with Retry-After, not 200', async () => {
    const { key } = await newTenant(p.base, 'redis-down');
    expect((await call(p.base, 'GET', '/v1/me', key)).status).toBe(200);
    const down = await p.whileRedisDown(() => call(p.base, 'GET', '/v1/me', key));
    expect(down.status).toBe(503);
    expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await waitUntil(
      'the API to answer with Redis back',
      async () => (await call(p.base, 'GET', '/v1/me', key)).status === 200,
      60_000,
      100,
    );
  });
});

describe('durability where the test supervises the apps (real PostgreSQL, Redis with AOF, real processes)', () => {
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
      searchable: 2001,
      failed: 0,
      lag: 0,
    });
    expect(await pointsOf(base, key, 'restart')).toBe(2001);
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
    expect(await pointsOf(base, key, 'rebuild')).toBe(400);
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
