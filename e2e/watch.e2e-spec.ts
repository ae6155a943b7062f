import { createPgPool } from '@tributary/db';
import { createQueue, jobOptions, queueOf } from '@tributary/queue';
import { textAbout, waitUntil } from '@tributary/testing';
import { call } from './support/app-process';
import { drained, newTenant, startPlatform, type Platform } from './support/pipeline';

interface Item {
  id: string;
  text: string;
  timestamp: string;
}

/** `count` items spread evenly over [from, from + spanMs), subjects taken in turn from `mix`. */
function itemsOver(prefix: string, from: number, spanMs: number, count: number, mix: string[]): Item[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    text: textAbout(mix[i % mix.length]!, Math.floor(i / mix.length) + i),
    timestamp: new Date(from + Math.floor((i * spanMs) / count)).toISOString(),
  }));
}

interface DriftReport {
  id: string;
  state: string;
  drifted: boolean | null;
  note: string | null;
  reference: { n: number | null };
  current: { n: number | null };
  methods: { method: string; value: number; threshold: number; drifted: boolean; pValue?: number }[];
}

interface Trends {
  readThrough: string | null;
  topics: {
    id: string;
    score: number;
    count: number;
    baseline: number;
    representatives: { id: string; text: string }[];
  }[];
}

const HOUR = 3_600_000;
const MIN = 60_000;

/**
 * The quality watch over the real apps (API, worker serving the embedding, watch and self-check
 * queues, scheduler), real PostgreSQL, Redis and the use-lite@1 model: drift reports on demand over
 * event-time windows, emerging topics (living through a stream and replaying it at full speed give
 * the same), the pipeline self-check, and one tenant's reports invisible to another.
 */
describe('quality watch (real apps, PostgreSQL, Redis, ONNX)', () => {
  let platform: Platform;
  let key: string;
  let other: string;

  beforeAll(async () => {
    platform = await startPlatform({
      WORKER_QUEUES: 'embed-use-lite-1,watch,selfcheck-use-lite-1',
      TRENDS_UPDATE_EVERY_MS: '1000',
      TRENDS_LATENESS_MS: '0',
      SELF_CHECK_EVERY_MS: '3000',
      SELF_CHECK_SAMPLE: '100',
    });
    await platform.start('api');
    await platform.start('worker');
    await platform.start('scheduler');
    ({ key } = await newTenant(platform.base, 'watch'));
    ({ key: other } = await newTenant(platform.base, 'watch-other'));
  }, 180_000);
  afterEach(() => {
    // What the apps said about the watch, for a failing test's reader.
    if (process.env['WATCH_E2E_LOGS'])
      for (const [app, proc] of platform.apps)
        process.stderr.write(`--- ${app}\n${proc.lines.slice(-60).join('\n')}\n`);
  });
  afterAll(() => platform?.close());

  async function stream(name: string, tenantKey = key): Promise<string> {
    const s = await call(platform.base, 'POST', '/v1/streams', tenantKey, {
      name,
      kind: 'text',
      collection: name,
    });
    expect(s.status).toBe(201);
    return s.body.id as string;
  }
  async function ingest(streamId: string, items: Item[], tenantKey = key) {
    for (let at = 0; at < items.length; at += 500) {
      const r = await call(platform.base, 'POST', `/v1/streams/${streamId}/items`, tenantKey, {
        items: items.slice(at, at + 500),
      });
      expect(r.status).toBe(202);
    }
  }
  async function report(collection: string, body: unknown, tenantKey = key): Promise<DriftReport> {
    const created = await call(
      platform.base,
      'POST',
      `/v1/collections/${collection}/reports/drift`,
      tenantKey,
      body,
    );
    expect(created.status).toBe(202);
    expect(created.body).toEqual({ id: expect.any(String), state: 'running' });
    let done: DriftReport | undefined;
    await waitUntil(
      'the drift report to finish',
      async () => {
        const r = await call(
          platform.base,
          'GET',
          `/v1/collections/${collection}/reports/drift/${created.body.id}`,
          tenantKey,
        );
        done = r.body as DriftReport;
        return r.status === 200 && done.state !== 'running';
      },
      120_000,
      200,
    );
    return done!;
  }
  const window = (from: number, to: number) => ({
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  });

  it('flags a strongly shifted mix by every method, an unshifted one by none, reproducibly, and refuses to guess on an empty window', async () => {
    const id = await stream('news');
    const day = Date.parse('2026-11-01T00:00:00Z');
    const usual = ['football', 'weather', 'stocks', 'cooking'];
    await ingest(id, [
      ...itemsOver('w1', day, HOUR, 400, usual),
      // The second hour is mostly other subjects; the third is the first hour's mix again.
      ...itemsOver('w2', day + HOUR, HOUR, 400, ['music', 'travel', 'music', 'travel', 'football']),
      ...itemsOver('w3', day + 2 * HOUR, HOUR, 400, usual),
    ]);
    await drained(platform.base, key, id);

    const shifted = await report('news', {
      reference: window(day, day + HOUR),
      current: window(day + HOUR, day + 2 * HOUR),
    });
    expect(shifted).toMatchObject({
      state: 'done',
      drifted: true,
      reference: { n: 400 },
      current: { n: 400 },
    });
    expect(shifted.methods.map((m) => m.method)).toEqual(['model', 'ratio', 'distance', 'mmd']);
    for (const m of shifted.methods)
      expect({ method: m.method, drifted: m.drifted }).toEqual({ method: m.method, drifted: true });
    expect(shifted.methods.find((m) => m.method === 'mmd')!.pValue).toBeLessThan(0.05);

    const unshifted = await report('news', {
      reference: window(day, day + HOUR),
      current: window(day + 2 * HOUR, day + 3 * HOUR),
    });
    expect(unshifted).toMatchObject({ state: 'done', drifted: false });
    for (const m of unshifted.methods)
      expect({ method: m.method, drifted: m.drifted }).toEqual({ method: m.method, drifted: false });

    // The same windows and seed give the same figures.
    const seed = 'reproduce-me';
    const [a, b] = [
      await report('news', {
        reference: window(day, day + HOUR),
        current: window(day + HOUR, day + 2 * HOUR),
        seed,
        sampleSize: 300,
      }),
      await report('news', {
        reference: window(day, day + HOUR),
        current: window(day + HOUR, day + 2 * HOUR),
        seed,
        sampleSize: 300,
      }),
    ];
    expect(a.methods).toEqual(b.methods);

    // A 10-point shift in the mix of 1,500 items a window: the MMD permutation test tells the windows
    // apart; when no method's fixed threshold is crossed, the report says so in its note.
    const mixOf = (shares: Record<string, number>) =>
      Object.entries(shares).flatMap(([s, n]) => Array<string>(n).fill(s));
    const subtle = await stream('subtle');
    await ingest(subtle, [
      ...itemsOver('m1', day, HOUR, 1500, mixOf({ football: 4, weather: 3, stocks: 3 })),
      ...itemsOver('m2', day + HOUR, HOUR, 1500, mixOf({ football: 3, weather: 4, stocks: 3 })),
    ]);
    await drained(platform.base, key, subtle);
    const small = await report('subtle', {
      reference: window(day, day + HOUR),
      current: window(day + HOUR, day + 2 * HOUR),
    });
    expect(small).toMatchObject({ state: 'done', reference: { n: 1500 }, current: { n: 1500 } });
    expect(small.methods.find((m) => m.method === 'mmd')!.pValue).toBeLessThan(0.05);
    const crossed = small.methods.filter((m) => m.drifted).map((m) => m.method);
    process.stdout.write(`10-point mix shift: ${JSON.stringify(small.methods)}\n`);
    if (!small.drifted) expect(small.note).toMatch(/MMD permutation test tells the windows apart/);
    if (!small.drifted && crossed.length > 0)
      expect(small.note).toContain(`but ${crossed.join(', ')} crossed`);

    // A window with too few items: no verdict, and the report says why.
    const empty = await report('news', {
      reference: window(day, day + HOUR),
      current: window(day + 5 * HOUR, day + 6 * HOUR),
    });
    expect(empty).toMatchObject({ state: 'done', drifted: null, current: { n: 0 }, methods: [] });
    expect(empty.note).toMatch(/current window has 0 items, fewer than the 100/);

    const list = await call(platform.base, 'GET', '/v1/collections/news/reports/drift', key);
    expect(list.status).toBe(200);
    expect((list.body.data as DriftReport[]).map((r) => r.id).slice(0, 2)).toEqual([empty.id, b.id]);

    // Another tenant sees none of it, not even with a collection of the same name.
    await stream('news', other);
    expect(
      (await call(platform.base, 'GET', `/v1/collections/news/reports/drift/${shifted.id}`, other)).status,
    ).toBe(404);
    expect((await call(platform.base, 'GET', '/v1/collections/news/reports/drift', other)).body.data).toEqual(
      [],
    );
    expect(
      (await call(platform.base, 'GET', `/v1/collections/none/reports/drift/${shifted.id}`, key)).status,
    ).toBe(404);

    // Bad requests say what is wrong.
    const bad = await call(platform.base, 'POST', '/v1/collections/news/reports/drift', key, {
      reference: window(day + HOUR, day),
      current: window(day, day + HOUR),
      methods: ['model', 'psi'],
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toMatch(/before/);
    expect(JSON.stringify(bad.body)).toMatch(/psi|methods/);
  }, 300_000);

  it('finds a burst of a new subject as the top topic of its window, the same whether lived through or replayed at full speed', async () => {
    const start = Date.parse('2026-11-02T00:00:00Z');
    const steady = ['football', 'weather', 'stocks', 'cooking'];
    // An hour of steady traffic (5-min buckets, 20 items each), then a burst inside the last bucket.
    const buckets = Array.from({ length: 12 }, (_, b) =>
      itemsOver(`s${b}`, start + b * 5 * MIN, 5 * MIN, 20, steady),
    );
    const burst = itemsOver('quake', start + 55 * MIN + 30_000, 4 * MIN, 30, ['earthquake']);
    buckets[11]!.push(...burst);
    const all = buckets.flat();
    const last = Math.max(...all.map((i) => Date.parse(i.timestamp)));

    const trends = async (collection: string, from?: number, to?: number) => {
      const query =
        from === undefined
          ? ''
          : `?from=${new Date(from).toISOString()}&to=${new Date(to!).toISOString()}&limit=5`;
      const r = await call(platform.base, 'GET', `/v1/collections/${collection}/trends${query}`, key);
      expect(r.status).toBe(200);
      return r.body as Trends;
    };
    const readThrough = (collection: string, at: number) =>
      waitUntil(
        `the topic tracker of ${collection} to read up to ${new Date(at).toISOString()}`,
        async () => (await trends(collection)).readThrough === new Date(at).toISOString(),
        60_000,
        200,
      );

    // Lived through: a bucket at a time, each read by the tracker before the next arrives.
    const lived = await stream('lived');
    for (const bucket of buckets) {
      await ingest(lived, bucket);
      await readThrough('lived', Math.max(...bucket.map((i) => Date.parse(i.timestamp))));
    }
    // Replayed at full speed: everything in one go, in another order.
    const replayed = await stream('replayed');
    await ingest(replayed, [...all].reverse());
    await readThrough('replayed', last);

    const lastBucket = [start + 55 * MIN, start + 60 * MIN] as const;
    const [livedTop, replayedTop] = [
      await trends('lived', ...lastBucket),
      await trends('replayed', ...lastBucket),
    ];
    const top = livedTop.topics[0]!;
    expect(top.count).toBeGreaterThanOrEqual(25);
    expect(top.representatives.length).toBeGreaterThan(0);
    for (const r of top.representatives) expect(r.id).toMatch(/^quake-/);
    // Steady subjects do not emerge.
    for (const t of livedTop.topics.slice(1)) expect(t.score).toBeLessThan(top.score);
    expect(replayedTop.topics).toEqual(livedTop.topics);
    // An earlier, steady window: nothing emerging in either, alike.
    const quiet = [start + 30 * MIN, start + 35 * MIN] as const;
    expect((await trends('replayed', ...quiet)).topics).toEqual((await trends('lived', ...quiet)).topics);
    expect(
      (await trends('lived', ...quiet)).topics.filter((t) =>
        t.representatives.some((r) => r.id.startsWith('quake')),
      ),
    ).toEqual([]);

    expect((await call(platform.base, 'GET', '/v1/collections/lived/trends', other)).status).toBe(404);
  }, 300_000);

  it('self-checks the pipeline: an unchanged one passes, a corrupted stored vector is named', async () => {
    const id = await stream('checked');
    await ingest(id, itemsOver('c', Date.parse('2026-11-03T00:00:00Z'), HOUR, 40, ['weather', 'music']));
    await drained(platform.base, key, id);
    const checks = async () =>
      (await call(platform.base, 'GET', '/v1/collections/checked/reports/self-check', key)).body.data as {
        sampled: number;
        passed: boolean;
        minCosine: number;
        threshold: number;
        worst: { itemId: string; cosine: number }[];
        createdAt: string;
      }[];
    await waitUntil('a self-check of the collection', async () => (await checks()).length > 0, 60_000, 250);
    const first = (await checks())[0]!;
    expect(first).toMatchObject({ sampled: 40, passed: true, threshold: 0.999 });
    expect(first.minCosine).toBeGreaterThan(0.9999);

    // One stored vector overwritten (a disk or a bug corrupting it).
    const pool = createPgPool(platform.db.url);
    try {
      const noise = Buffer.alloc(512 * 4);
      for (let i = 0; i < 512; i++) noise.writeFloatLE(i % 2 ? 0.0441 : -0.0441, i * 4);
      const updated = await pool.query(`UPDATE item SET vector = $1 WHERE id = 'c-7' AND stream_id = $2`, [
        noise,
        id,
      ]);
      expect(updated.rowCount).toBe(1);
    } finally {
      await pool.end();
    }
    // A check that read the vectors before the update may still finish after it: the first failed
    // one after the update is the one to read.
    const since = Date.now();
    const failed = async () => (await checks()).find((c) => Date.parse(c.createdAt) > since && !c.passed);
    await waitUntil(
      'a failed self-check after the corruption',
      async () => (await failed()) !== undefined,
      60_000,
      250,
    );
    const after = (await failed())!;
    expect(after).toMatchObject({ sampled: 40, passed: false });
    expect(after.worst[0]!.itemId).toBe('c-7');
    expect(after.worst[0]!.cosine).toBeLessThan(0.5);
    expect(after.worst[1]!.cosine).toBeGreaterThan(0.9999);

    expect(
      (await call(platform.base, 'GET', '/v1/collections/checked/reports/self-check', other)).status,
    ).toBe(404);
  }, 180_000);

  it('the scheduled fan-out reports each collection’s last window against the one before, or its pinned baseline, once per window', async () => {
    // DRIFT_REPORT_EVERY_MS is its default, a day: the scheduled window is the last whole UTC day.
    // (A run that crosses midnight between here and the fan-out would see the next day instead.)
    const every = 86_400_000;
    const to = Math.floor(Date.now() / every) * every;
    const usual = ['football', 'weather', 'stocks', 'cooking'];
    const daily = await stream('daily');
    await ingest(daily, [
      ...itemsOver('d1', to - 2 * every, every, 300, usual),
      ...itemsOver('d2', to - every, every, 300, ['music', 'travel', 'music', 'travel', 'football']),
    ]);
    // A collection whose tenant pinned a baseline: yesterday's usual mix against an older usual hour.
    const baseline = Date.parse('2026-10-01T00:00:00Z');
    const pinned = await stream('pinned');
    await ingest(pinned, [
      ...itemsOver('p0', baseline, HOUR, 300, usual),
      ...itemsOver('p1', to - every, every, 300, usual),
    ]);
    const settings = await call(
      platform.base,
      'PATCH',
      '/v1/collections/pinned/reports/drift-settings',
      key,
      {
        baseline: window(baseline, baseline + HOUR),
      },
    );
    expect(settings.status).toBe(200);
    await drained(platform.base, key, daily);
    await drained(platform.base, key, pinned);

    // The job the scheduler adds every min(DRIFT_REPORT_EVERY_MS, 1 h), added here rather than waited for.
    const queue = createQueue(
      queueOf('DriftReportQueueAll'),
      { redisUrl: platform.env['REDIS_URL']!, prefix: platform.env['REDIS_PREFIX']! },
      'e2e-scheduler',
      'producer',
    );
    const fanOut = async () => {
      const job = await queue.add('DriftReportQueueAll', {}, jobOptions.DriftReportQueueAll);
      await waitUntil(
        'the fan-out to finish',
        async () => (await job.getState()) === 'completed',
        60_000,
        200,
      );
    };
    type Listed = DriftReport & { trigger: string; reference: { from: string; to: string } };
    const scheduled = async (collection: string) =>
      (
        (await call(platform.base, 'GET', `/v1/collections/${collection}/reports/drift`, key)).body
          .data as Listed[]
      ).filter((r) => r.trigger === 'scheduled');
    try {
      await fanOut();
      await waitUntil(
        'the scheduled reports to finish',
        async () =>
          [...(await scheduled('daily')), ...(await scheduled('pinned'))].filter((r) => r.state === 'done')
            .length === 2,
        120_000,
        250,
      );
      const [shifted] = await scheduled('daily');
      expect(shifted).toMatchObject({
        drifted: true,
        reference: { ...window(to - 2 * every, to - every), n: 300 },
        current: { ...window(to - every, to), n: 300 },
      });
      const [steady] = await scheduled('pinned');
      expect(steady).toMatchObject({
        drifted: false,
        reference: { ...window(baseline, baseline + HOUR), n: 300 },
        current: { ...window(to - every, to), n: 300 },
      });

      // A second fan-out in the same period reports no window twice.
      await fanOut();
      expect((await scheduled('daily')).map((r) => r.id)).toEqual([shifted!.id]);
      expect((await scheduled('pinned')).map((r) => r.id)).toEqual([steady!.id]);
    } finally {
      await queue.close();
    }
  }, 300_000);
});
