import { createPgPool } from '@tributary/db';
import { createQueue, embedQueueName } from '@tributary/queue';
import { waitUntil } from '@tributary/testing';
import { call } from './support/app-process';
import { startLauncherPlatform, type DurabilityPlatform } from './support/durability-platform';
import { ADMIN_KEY, drained, newTenant, startPlatform, tweet, type Platform } from './support/pipeline';

const FROM = 'use-lite@1';
const TO = 'use-lite-int8@1';
const ITEMS = 5_000;

interface Rollout {
  id: string;
  state: string;
  from: string;
  to: string;
  trafficPercent: number;
  mode: string;
  backfill: { done: number; total: number; itemsPerSecond: number | null; etaSeconds: number | null };
  comparison: null | {
    sample: number;
    overlapAt10: number;
    rankCorrelation: number;
    points: { from: number; to: number };
    searchLatencyMs: { from: { p50: number; p99: number }; to: { p50: number; p99: number } };
    embeddingsPerSecond: { from: number; to: number };
    shadow?: { queries: number; overlapAt10: number | null };
  };
}

/** One search with optional headers; the body's `model` and the `x-tributary-model` header. */
async function search(base: string, key: string, query: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/collections/docs/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, k: 10 }),
  });
  const body = (await response.json()) as { model: string; data: { id: string }[] };
  expect(response.status).toBe(200);
  expect(response.headers.get('x-tributary-model')).toBe(body.model);
  return body;
}

/** A fixed pseudo-random unit vector (512-d), so vector searches cost no embedding. */
function vector(seed: number): number[] {
  let x = seed * 2654435761;
  const v = Array.from({ length: 512 }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31 - 0.5;
  });
  const norm = Math.hypot(...v);
  return v.map((c) => c / norm);
}

/**
 * Searches in a loop (two at a time) until `stop`: how many failed and which versions answered.
 * Every answer is checked by `search` (status 200, header and body name the same version).
 */
function searchesDuring(base: string, key: string) {
  let running = true;
  let errors = 0;
  const models = new Set<string>();
  const loop = async (seed: number) => {
    for (let i = 0; running; i++) {
      try {
        models.add((await search(base, key, vector(seed + i))).model);
      } catch {
        errors += 1;
      }
    }
  };
  const loops = [loop(0), loop(1000)];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { errors, models };
    },
  };
}

async function ingest(base: string, key: string, streamId: string, ids: number[], prefix = 'doc') {
  for (let i = 0; i < ids.length; i += 500) {
    const items = ids.slice(i, i + 500).map((n) => ({ id: `${prefix}-${n}`, text: tweet(n) }));
    const r = await call(base, 'POST', `/v1/streams/${streamId}/items`, key, { items });
    expect(r.status).toBe(202);
  }
}

describe('model rollouts: backfill, canary, shadow, promote and rollback (embedded store, real model)', () => {
  let p: Platform;
  let key: string;
  let tenantId: string;
  let streamId: string;
  const rolloutUrl = (id = '') => `/v1/collections/docs/rollouts${id ? `/${id}` : ''}`;
  const getRollout = async (id: string) => (await call(p.base, 'GET', rolloutUrl(id), key)).body as Rollout;

  beforeAll(async () => {
    p = await startPlatform({
      MODELS: `${FROM},${TO}`,
      WORKER_QUEUES: 'all',
      ROLLOUT_COMPARE_EVERY_MS: '1000',
      ROLLOUT_COMPARE_SAMPLE: '100',
      INGEST_TENANT_MAX_QUEUED: '100000',
    });
    await p.start('api');
    await p.start('worker');
    ({ key, tenantId } = await newTenant(p.base, 'rollouts'));
    const stream = await call(p.base, 'POST', '/v1/streams', key, {
      name: 'docs',
      kind: 'text',
      model: FROM,
    });
    expect(stream.status).toBe(201);
    streamId = stream.body.id;
    await ingest(
      p.base,
      key,
      streamId,
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    await drained(p.base, key, streamId, 600_000);
  }, 900_000);

  afterAll(() => p?.close());

  it('refuses what makes no sense, with a clear 4xx', async () => {
    const unknown = await call(p.base, 'POST', rolloutUrl(), key, { model: 'nope@9' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.message).toMatch(/nope@9 is not served here/);
    const same = await call(p.base, 'POST', rolloutUrl(), key, { model: FROM });
    expect(same.status).toBe(422);
    expect(same.body.error.message).toMatch(/already served by use-lite@1/);
    const bad = await call(p.base, 'POST', rolloutUrl(), key, { model: TO, trafficPercent: 101 });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.error.details)).toMatch(/trafficPercent/);
    const noCollection = await call(p.base, 'POST', '/v1/collections/none/rollouts', key, { model: TO });
    expect(noCollection.status).toBe(404);
  });

  it('backfills the candidate while items arrive and go, survives a killed worker and an API restart, and serves by canary share, sticky key and shadow; promotes and rolls back at once', async () => {
    const created = await call(p.base, 'POST', rolloutUrl(), key, { model: TO, trafficPercent: 0 });
    expect(created.status).toBe(201);
    const rollout = created.body as Rollout;
    expect(rollout).toMatchObject({ from: FROM, to: TO, state: 'backfilling', mode: 'canary' });
    expect(rollout.backfill.total).toBe(ITEMS);

    // One active rollout per collection; nothing to promote before the candidate is complete.
    const second = await call(p.base, 'POST', rolloutUrl(), key, { model: TO });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toMatch(/already has a rollout going/);
    const early = await call(p.base, 'POST', `${rolloutUrl(rollout.id)}/promote`, key);
    expect(early.status).toBe(409);
    expect(early.body.error.message).toMatch(/still backfilling/);
    const patchEarly = await call(p.base, 'PATCH', rolloutUrl(rollout.id), key, { trafficPercent: 10 });
    expect(patchEarly.status).toBe(409);

    // kill -9 of the worker mid-backfill (as soon as a page is written): a new worker resumes from
    // the cursor.
    await waitUntil(
      'the backfill to be under way',
      async () => (await getRollout(rollout.id)).backfill.done > 0,
      300_000,
      20,
    );
    await p.stop('worker', 'SIGKILL');
    const before = await getRollout(rollout.id);
    expect(before.state).toBe('backfilling');
    expect(before.backfill.done).toBeLessThan(before.backfill.total);
    expect(before.backfill.itemsPerSecond).toBeGreaterThan(0);
    expect(before.backfill.etaSeconds).toEqual(expect.any(Number));

    // Searches keep the serving version while the candidate fills.
    expect((await search(p.base, key, vector(1))).model).toBe(FROM);

    // New items (dual-written) and deletes (gone from both versions) during the backfill.
    await ingest(
      p.base,
      key,
      streamId,
      Array.from({ length: 200 }, (_, i) => i),
      'new',
    );
    const deleted = Array.from({ length: 100 }, (_, i) => `doc-${i * 50}`);
    for (const id of deleted) {
      expect((await call(p.base, 'DELETE', `/v1/collections/docs/items/${id}`, key)).status).toBe(204);
    }
    await p.start('worker');

    // The API restarts mid-rollout: the rollout is in PostgreSQL.
    await p.stop('api');
    await p.start('api');
    expect((await getRollout(rollout.id)).state).toMatch(/backfilling|ready/);

    await waitUntil(
      'the candidate to be ready',
      async () => (await getRollout(rollout.id)).state === 'ready',
      600_000,
      250,
    );
    await drained(p.base, key, streamId, 120_000);
    const expected = ITEMS + 200 - deleted.length;

    // Exactly one vector per live item in the candidate; none for a deleted one.
    const pool = createPgPool(p.db.url, { poolSize: 1, allowExitOnIdle: true, onPoolError: () => undefined });
    const {
      rows: [counts],
    } = await pool.query<{ vectors: string; deletedVectors: string }>(
      `SELECT count(*) FILTER (WHERE i.status <> 'deleted') AS vectors,
              count(*) FILTER (WHERE i.status = 'deleted') AS "deletedVectors"
       FROM item_vector iv JOIN item i ON i.stream_id = iv.stream_id AND i.id = iv.item_id
       JOIN rollout r ON r.to_version_id = iv.version_id WHERE r.id = $1::uuid`,
      [rollout.id],
    );
    await pool.end();
    expect(Number(counts!.vectors)).toBe(expected);
    expect(Number(counts!.deletedVectors)).toBe(0);

    // The comparison: both indexes hold exactly the live items; the versions agree closely.
    await waitUntil(
      'the comparison',
      async () => (await getRollout(rollout.id)).comparison !== null,
      120_000,
      250,
    );
    let compared = (await getRollout(rollout.id)).comparison!;
    await waitUntil(
      'both indexes to hold every live item',
      async () => {
        compared = (await getRollout(rollout.id)).comparison!;
        return compared.points.from === expected && compared.points.to === expected;
      },
      120_000,
      500,
    );
    expect(compared.sample).toBe(100);
    expect(compared.overlapAt10).toBeGreaterThan(0.6);
    expect(compared.rankCorrelation).toBeGreaterThan(0);
    expect(compared.embeddingsPerSecond.to).toBeGreaterThan(0);
    expect(compared.searchLatencyMs.to.p99).toBeGreaterThanOrEqual(compared.searchLatencyMs.to.p50);

    // Canary: 30 % of 1,000 searches (±5 points) answered by the candidate, each saying so.
    const canary = await call(p.base, 'PATCH', rolloutUrl(rollout.id), key, { trafficPercent: 30 });
    expect(canary.status).toBe(200);
    expect(canary.body.state).toBe('canary');
    let byCandidate = 0;
    for (let i = 0; i < 1000; i++)
      if ((await search(p.base, key, vector(i % 7))).model === TO) byCandidate += 1;
    expect(byCandidate).toBeGreaterThanOrEqual(250);
    expect(byCandidate).toBeLessThanOrEqual(350);

    // Sticky routing: one route key, one version; across keys both appear.
    const seen = new Set<string>();
    for (let k = 0; k < 40; k++) {
      const models = new Set<string>();
      for (let i = 0; i < 5; i++)
        models.add((await search(p.base, key, vector(k), { 'x-tributary-route-key': `user-${k}` })).model);
      expect(models.size).toBe(1);
      seen.add([...models][0]!);
    }
    expect([...seen].sort()).toEqual([FROM, TO].sort());

    // Shadow: the serving version answers; the candidate's answers are compared and recorded.
    const shadow = await call(p.base, 'PATCH', rolloutUrl(rollout.id), key, { mode: 'shadow' });
    expect(shadow.body.state).toBe('shadow');
    for (let i = 0; i < 20; i++) expect((await search(p.base, key, tweet(i * 13))).model).toBe(FROM);
    await waitUntil(
      'the shadow comparison',
      async () => ((await getRollout(rollout.id)).comparison?.shadow?.queries ?? 0) >= 20,
      60_000,
      250,
    );
    expect((await getRollout(rollout.id)).comparison!.shadow!.overlapAt10).toBeGreaterThan(0.5);

    // Promote while searches run: none fails, each answer wholly from one version (the header and
    // the body agree, checked in `search`); every search from the call's answer on is the candidate's.
    const during = searchesDuring(p.base, key);
    const promoted = await call(p.base, 'POST', `${rolloutUrl(rollout.id)}/promote`, key);
    const across = await during.stop();
    expect(across.errors).toBe(0);
    expect(across.models.size).toBeGreaterThanOrEqual(1);
    expect(promoted.status).toBe(200);
    expect(promoted.body.state).toBe('promoted');
    expect(promoted.body.retainPreviousUntil).toEqual(expect.any(String));
    for (let i = 0; i < 20; i++) expect((await search(p.base, key, vector(i))).model).toBe(TO);
    const onCandidate = await search(p.base, key, tweet(50));
    expect(onCandidate.data.map((h) => h.id)).toContain('new-50');
    expect(onCandidate.data.map((h) => h.id)).not.toContain('doc-50');
    const collections = await call(p.base, 'GET', '/v1/collections', key);
    expect(collections.body.data[0]).toMatchObject({
      name: 'docs',
      model: TO,
      points: expected,
      rollout: null,
    });
    expect((await call(p.base, 'GET', `/v1/streams/${streamId}`, key)).body.model).toBe(TO);

    // Items after the promotion reach the retained previous version too (so a rollback loses none).
    await ingest(
      p.base,
      key,
      streamId,
      Array.from({ length: 50 }, (_, i) => i),
      'after',
    );
    await drained(p.base, key, streamId, 120_000);

    // Rollback after promotion: at once, no re-embedding; the previous version has every item.
    const duringRollback = searchesDuring(p.base, key);
    const rolledBack = await call(p.base, 'POST', `${rolloutUrl(rollout.id)}/rollback`, key);
    expect((await duringRollback.stop()).errors).toBe(0);
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.state).toBe('rolled_back');
    for (let i = 0; i < 20; i++) expect((await search(p.base, key, vector(i))).model).toBe(FROM);
    await waitUntil(
      'the previous version to hold the items added after the promotion',
      async () => (await call(p.base, 'GET', '/v1/collections', key)).body.data[0].points === expected + 50,
      60_000,
      250,
    );
    const found = await search(p.base, key, tweet(7));
    expect(found.data.map((h) => h.id)).toContain('after-7');
    // A deleted item is in neither version; the other item of the same text is.
    const again = await search(p.base, key, tweet(50));
    expect(again.data.map((h) => h.id)).toContain('new-50');
    expect(again.data.map((h) => h.id)).not.toContain('doc-50');
    expect((await call(p.base, 'POST', `${rolloutUrl(rollout.id)}/rollback`, key)).status).toBe(409);

    // History, audit and metrics.
    const history = await call(p.base, 'GET', rolloutUrl(), key);
    expect(history.body.data.map((r: Rollout) => [r.id, r.state])).toEqual([[rollout.id, 'rolled_back']]);
    const audit = await call(p.base, 'GET', '/v1/admin/audit?limit=50', ADMIN_KEY);
    const actions = (audit.body.data as { action: string; actor: string; tenantId: string }[])
      .filter((e) => e.tenantId === tenantId)
      .map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(['rollout.create', 'rollout.update', 'rollout.promote', 'rollout.rollback']),
    );
    expect(
      (audit.body.data as { action: string; actor: string }[]).find((e) => e.action === 'rollout.promote')!
        .actor,
    ).toMatch(/^key:/);
    const metrics = await (await fetch(`${p.base}/metrics`)).text();
    expect(metrics).toMatch(/tributary_rollouts\{[^}]*state="rolled_back"[^}]*\} 1\n/);
    expect(metrics).toMatch(
      /tributary_searches_total\{[^}]*model="use-lite-int8@1"[^}]*route="canary"[^}]*\} \d+/,
    );
    expect(metrics).toMatch(/tributary_rollout_overlap_at_10\{from="use-lite@1",to="use-lite-int8@1"/);
  }, 1_500_000);

  it('rolls back on its own when the comparison falls below autoRollbackBelowOverlap', async () => {
    // fp32 and int8 agree on about 0.93 of the top 10: a guard of 0.999 trips.
    const created = await call(p.base, 'POST', rolloutUrl(), key, {
      model: TO,
      autoRollbackBelowOverlap: 0.999,
    });
    expect(created.status).toBe(201);
    await waitUntil(
      'the guard to roll the rollout back',
      async () => (await getRollout(created.body.id)).state === 'rolled_back',
      300_000,
      250,
    );
    const rollout = await getRollout(created.body.id);
    expect(rollout.comparison!.overlapAt10).toBeLessThan(0.999);
    expect((await search(p.base, key, vector(1))).model).toBe(FROM);
    const audit = await call(p.base, 'GET', '/v1/admin/audit?limit=20', ADMIN_KEY);
    const event = (
      audit.body.data as { action: string; actor: string; target: string; details: { reason?: string } }[]
    ).find((e) => e.action === 'rollout.rollback' && e.target.endsWith(created.body.id));
    expect(event).toMatchObject({ actor: 'system:auto-rollback' });
    expect(event!.details.reason).toMatch(/below autoRollbackBelowOverlap 0.999/);
  }, 600_000);

  it("keeps a tenant's rollouts out of another tenant's reach (404), and lets the admin act for any tenant", async () => {
    const list = await call(p.base, 'GET', rolloutUrl(), key);
    const id = (list.body.data as Rollout[])[0]!.id;
    const other = await newTenant(p.base, 'rollouts-other');
    const otherStream = await call(p.base, 'POST', '/v1/streams', other.key, { name: 'docs', kind: 'text' });
    expect(otherStream.status).toBe(201);
    expect((await call(p.base, 'GET', rolloutUrl(id), other.key)).status).toBe(404);
    expect((await call(p.base, 'POST', `${rolloutUrl(id)}/promote`, other.key)).status).toBe(404);
    expect((await call(p.base, 'POST', `${rolloutUrl(id)}/rollback`, other.key)).status).toBe(404);
    expect((await call(p.base, 'PATCH', rolloutUrl(id), other.key, { trafficPercent: 5 })).status).toBe(404);
    expect((await call(p.base, 'GET', rolloutUrl(), other.key)).body.data).toEqual([]);
    const asAdmin = await call(
      p.base,
      'GET',
      `/v1/admin/tenants/${tenantId}/collections/docs/rollouts/${id}`,
      ADMIN_KEY,
    );
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.id).toBe(id);
    expect(
      (await call(p.base, 'GET', `/v1/admin/tenants/${tenantId}/collections/docs/rollouts/${id}`, key))
        .status,
    ).toBe(401);
  });

  it('starts a fleet rollout on every collection served by a version, and reports its progress', async () => {
    const fleet = await call(p.base, 'POST', '/v1/admin/rollouts', ADMIN_KEY, { from: FROM, to: TO });
    expect(fleet.status).toBe(201);
    // This test's tenants: docs (5,000+) and the other tenant's empty docs.
    const mine = (fleet.body.rollouts as { tenantId: string; state: string }[]).filter(
      (r) => r.tenantId === tenantId,
    );
    expect(mine).toHaveLength(1);
    await waitUntil(
      'the fleet to finish backfilling',
      async () => {
        const progress = (await call(p.base, 'GET', `/v1/admin/rollouts/${fleet.body.id}`, ADMIN_KEY)).body;
        return progress.progress.byState.backfilling === undefined;
      },
      600_000,
      500,
    );
    const done = (await call(p.base, 'GET', `/v1/admin/rollouts/${fleet.body.id}`, ADMIN_KEY)).body;
    expect(done.progress.backfillDone).toBe(done.progress.backfillTotal);
    expect(done.progress.byState.ready).toBe(done.progress.collections);
    const listed = await call(p.base, 'GET', '/v1/admin/rollouts', ADMIN_KEY);
    expect(listed.body.data.map((f: { id: string }) => f.id)).toContain(fleet.body.id);
    // A second fleet finds every collection busy: skipped, with the reason.
    const again = await call(p.base, 'POST', '/v1/admin/rollouts', ADMIN_KEY, { from: FROM, to: TO });
    expect(again.status).toBe(201);
    expect(again.body.rollouts).toEqual([]);
    expect(again.body.skipped.length).toBeGreaterThan(0);
    expect(again.body.skipped[0].reason).toMatch(/already has a rollout going/);
  }, 900_000);
});

describe('model rollouts in the default mode (npm run up: the launcher’s PostgreSQL and redis-server)', () => {
  let p: DurabilityPlatform;

  beforeAll(async () => {
    p = await startLauncherPlatform({
      MODELS: `${FROM},${TO}`,
      ROLLOUT_COMPARE_EVERY_MS: '1000',
      // Lost dual-writes found within seconds, retired versions' vectors purged as fast.
      ORPHANED_AFTER_MS: '2000',
      ORPHAN_SWEEP_EVERY_MS: '1000',
      ROLLOUT_SWEEP_EVERY_MS: '1000',
    });
  }, 300_000);
  afterAll(() => p?.close());

  it('a worker killed mid-backfill resumes from the cursor (exactly one point per item); another tenant cannot reach the rollout; promote and rollback answer at once', async () => {
    const { key } = await newTenant(p.base, 'rollouts-up');
    const other = await newTenant(p.base, 'rollouts-up-other');
    const stream = await call(p.base, 'POST', '/v1/streams', key, {
      name: 'docs',
      kind: 'text',
      model: FROM,
    });
    expect(stream.status).toBe(201);
    const streamId = stream.body.id as string;
    await ingest(
      p.base,
      key,
      streamId,
      Array.from({ length: 3_000 }, (_, i) => i),
    );
    await drained(p.base, key, streamId, 600_000);

    const created = await call(p.base, 'POST', '/v1/collections/docs/rollouts', key, { model: TO });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const url = `/v1/collections/docs/rollouts/${id}`;
    const get = async () => (await call(p.base, 'GET', url, key)).body as Rollout;
    // As soon as a page is written: killed mid-backfill.
    await waitUntil('the backfill to be under way', async () => (await get()).backfill.done > 0, 300_000, 20);
    const before = await get();
    await p.killWorker();
    expect(before.state).toBe('backfilling');
    expect(before.backfill.done).toBeLessThan(before.backfill.total);

    // Another tenant: not found, whatever it tries; nothing changes.
    expect((await call(p.base, 'GET', url, other.key)).status).toBe(404);
    expect((await call(p.base, 'POST', `${url}/rollback`, other.key)).status).toBe(404);
    expect((await call(p.base, 'GET', '/v1/collections/docs/rollouts', other.key)).status).toBe(404);

    await waitUntil('the candidate to be ready', async () => (await get()).state === 'ready', 600_000, 250);
    const [row] = await p.query<{ vectors: string; items: string }>(
      `SELECT (SELECT count(*) FROM item_vector WHERE version_id = r.to_version_id) AS vectors,
              (SELECT count(DISTINCT (stream_id, item_id)) FROM item_vector WHERE version_id = r.to_version_id) AS items
       FROM rollout r WHERE r.id = $1::uuid`,
      [id],
    );
    expect(Number(row!.vectors)).toBe(3_000);
    expect(Number(row!.items)).toBe(3_000);
    await waitUntil(
      'the candidate index to hold every item',
      async () => (await get()).comparison?.points.to === 3_000,
      120_000,
      250,
    );

    // Items arriving once ready whose dual-write jobs Redis loses (held back, then removed): the
    // orphan sweep dual-writes them again, so the candidate still holds every item.
    const candidateQueue = createQueue(
      embedQueueName(TO),
      { redisUrl: p.redisUrl, prefix: p.redisPrefix },
      'rollouts-test',
    );
    const candidateVectors = async () =>
      Number(
        (
          await p.query<{ n: string }>(
            `SELECT count(*) AS n FROM item_vector iv JOIN rollout r ON r.to_version_id = iv.version_id
             WHERE r.id = $1::uuid`,
            [id],
          )
        )[0]!.n,
      );
    try {
      await candidateQueue.pause();
      await ingest(
        p.base,
        key,
        streamId,
        Array.from({ length: 20 }, (_, i) => 3_000 + i),
      );
      await drained(p.base, key, streamId, 120_000);
      // Their dual-write job waits, held back.
      expect(await candidateQueue.count()).toBeGreaterThan(0);
      await candidateQueue.obliterate({ force: true });
      expect(await candidateVectors()).toBe(3_000);
      await waitUntil(
        'the lost dual-writes to be made again',
        async () => (await candidateVectors()) === 3_020,
        120_000,
        250,
      );
    } finally {
      await candidateQueue.close();
    }

    const promoted = await call(p.base, 'POST', `${url}/promote`, key);
    expect(promoted.status).toBe(200);
    expect((await search(p.base, key, vector(3))).model).toBe(TO);
    const rolledBack = await call(p.base, 'POST', `${url}/rollback`, key);
    expect(rolledBack.status).toBe(200);
    expect((await search(p.base, key, vector(3))).model).toBe(FROM);
    // The retired candidate's vectors go after the rollback answered (the rollout sweep).
    await waitUntil(
      'the retired version’s vectors to be purged',
      async () => (await candidateVectors()) === 0,
      120_000,
      250,
    );
  }, 1_200_000);
});
