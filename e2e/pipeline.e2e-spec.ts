import { createPgPool } from '@tributary/db';
import { createQueue, embedQueueName, type ItemEmbedData } from '@tributary/queue';
import { createRedis, waitForRedis } from '@tributary/redis';
import { EmbeddingCache } from '@tributary/embedding';
import { waitUntil } from '@tributary/testing';
import { signWebhookForTest } from './support/webhook';
import { call } from './support/app-process';
import { drained, newTenant, startPlatform, tweet, type Platform } from './support/pipeline';

describe('streaming data plane: ingest → queue → worker → index → search (real processes)', () => {
  let platform: Platform;
  let base: string;

  beforeAll(async () => {
    platform = await startPlatform();
    base = platform.base;
    await platform.start('api');
    await platform.start('worker');
  });
  afterAll(() => platform.close());

  /** The worker's embedding cache counters for use-lite@1, from its /metrics. */
  async function workerCacheLookups(): Promise<{ hits: number; misses: number }> {
    const text = await (await fetch(platform.workerMetrics)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*model="use-lite@1"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return {
      hits: value('tributary_embedding_cache_hits_total'),
      misses: value('tributary_embedding_cache_misses_total'),
    };
  }

  it('embeds accepted items and finds them by text and by vector, with exact-match filters', async () => {
    const { key } = await newTenant(base, 'search');
    const created = await call(base, 'POST', '/v1/streams', key, { name: 'tweets', kind: 'text' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'tweets',
      kind: 'text',
      model: 'use-lite@1',
      collection: 'tweets',
    });
    expect(created.body.webhook.secret).toMatch(/^whsec_/);
    const streamId = created.body.id;

    const items = [
      { id: 'a', text: 'Heavy rain floods the streets of Lisbon', metadata: { lang: 'en', city: 'lisbon' } },
      { id: 'b', text: 'The football match ended with a late goal', metadata: { lang: 'en', city: 'porto' } },
      { id: 'c', text: 'Stock markets fell sharply this morning', metadata: { lang: 'en', city: 'lisbon' } },
      { id: 'd', text: 'Chuva forte inunda as ruas de Lisboa', metadata: { lang: 'pt', city: 'lisbon' } },
    ];
    const sent = await call(base, 'POST', `/v1/streams/${streamId}/items`, key, { items });
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ accepted: 4, duplicates: 0 });
    expect(await drained(base, key, streamId)).toEqual({
      accepted: 4,
      embedded: 4,
      searchable: 4,
      failed: 0,
      lag: 0,
    });

    // Drained means searchable too: with the embedded store, once the API applied the worker's writes.
    const found = await call(base, 'POST', '/v1/collections/tweets/search', key, {
      query: 'flooding after storms in Lisbon',
      k: 2,
    });
    expect(found.body).toEqual(expect.objectContaining({ data: expect.any(Array) }));
    expect(found.status).toBe(200);
    expect(found.body.data[0]).toMatchObject({ id: 'a', text: items[0]!.text, metadata: items[0]!.metadata });
    expect(found.body.data[0].score).toBeGreaterThan(found.body.data[1].score);

    const filtered = await call(base, 'POST', '/v1/collections/tweets/search', key, {
      query: 'flooding after storms in Lisbon',
      k: 10,
      filter: { city: 'lisbon', lang: 'en' },
    });
    expect(filtered.body.data.map((h: { id: string }) => h.id).sort()).toEqual(['a', 'c']);

    // A vector query: the stored vector of "a" (from /v1/embeddings, same model) finds "a" first with score ≈ 1.
    const vector = await call(base, 'POST', '/v1/embeddings', key, {
      input: items[0]!.text,
      input_type: 'passage',
    });
    const byVector = await call(base, 'POST', '/v1/collections/tweets/search', key, {
      query: vector.body.data[0].embedding,
      k: 1,
    });
    expect(byVector.body.data[0].id).toBe('a');
    expect(byVector.body.data[0].score).toBeCloseTo(1, 2);

    const collections = await call(base, 'GET', '/v1/collections', key);
    expect(collections.body.data).toEqual([
      {
        name: 'tweets',
        model: 'use-lite@1',
        servingModel: 'use-lite@1',
        dimensions: 512,
        points: 4,
        rollout: null,
        createdAt: expect.any(String),
      },
    ]);

    expect((await call(base, 'DELETE', '/v1/collections/tweets/items/a', key)).status).toBe(204);
    expect((await call(base, 'DELETE', '/v1/collections/tweets/items/a', key)).status).toBe(404);
    // The delete reaches the embedded index through the log too: the collection's point count shows it.
    await waitUntil(
      'the deleted point to leave the index',
      async () => (await call(base, 'GET', '/v1/collections', key)).body.data[0]?.points === 3,
      10_000,
      50,
    );
    const after = await call(base, 'POST', '/v1/collections/tweets/search', key, {
      query: 'flooding after storms in Lisbon',
      k: 4,
    });
    expect(after.body.data.map((h: { id: string }) => h.id).sort()).toEqual(['b', 'c', 'd']);
  });

  it("takes vectors from the tenant's own embedding cache entries, and by default does not fill it with stream items", async () => {
    const { key, tenantId } = await newTenant(base, 'cache');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'cached', kind: 'text' })).body;
    const redis = createRedis(platform.env['REDIS_URL']!, 'producer', 'e2e-cache');
    try {
      await waitForRedis(redis);
      const cache = new EmbeddingCache(redis, {
        prefix: platform.env['REDIS_PREFIX']!,
        ttlSeconds: 600,
        format: 'float32',
        scope: 'tenant',
      });
      // A vector the model would never produce, planted for one text: only a cache read yields it.
      const planted = new Float32Array(512);
      planted[7] = 1;
      const cachedText = 'a text whose vector is already in the cache';
      await cache.setMany('use-lite@1', 'passage', [{ tenantId, text: cachedText, vector: planted }]);
      // The same vector planted for another tenant's entry of a text: this tenant must not get it.
      const foreignText = 'a text another tenant has in its cache';
      await cache.setMany('use-lite@1', 'passage', [
        { tenantId: '00000000-0000-4000-8000-000000000000', text: foreignText, vector: planted },
      ]);
      const otherText = 'a text nobody embedded before';
      const lookupsBefore = await workerCacheLookups();
      const sent = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
        items: [
          { id: 'cached', text: cachedText },
          { id: 'other', text: otherText },
          { id: 'foreign', text: foreignText },
        ],
      });
      expect(sent.status).toBe(202);
      expect(await drained(base, key, stream.id)).toMatchObject({ embedded: 3, lag: 0 });
      // The worker counts its lookups like the API: one hit (the planted entry), two misses.
      const lookups = await workerCacheLookups();
      expect({
        hits: lookups.hits - lookupsBefore.hits,
        misses: lookups.misses - lookupsBefore.misses,
      }).toEqual({
        hits: 1,
        misses: 2,
      });

      const hits = (
        await call(base, 'POST', '/v1/collections/cached/search', key, { query: [...planted], k: 3 })
      ).body.data as { id: string; score: number }[];
      expect(hits[0]).toMatchObject({ id: 'cached' });
      expect(hits[0]!.score).toBeCloseTo(1, 2);
      // The other two were computed by the model (the foreign entry was not used).
      expect(
        hits
          .slice(1)
          .map((h) => h.id)
          .sort(),
      ).toEqual(['foreign', 'other']);
      expect(Math.max(hits[1]!.score, hits[2]!.score)).toBeLessThan(0.5);
      // STREAM_EMBEDDING_CACHE_TTL_SECONDS is 0 by default: the computed vector was not cached.
      expect(await cache.getMany('use-lite@1', 'passage', [{ tenantId, text: otherText }], 512)).toEqual([
        undefined,
      ]);
    } finally {
      redis.disconnect();
    }
  });

  it('never duplicates work for ids sent again, in the same request or later', async () => {
    const { key } = await newTenant(base, 'dupes');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'dupes', kind: 'text' })).body;
    const items = Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, text: tweet(i) }));
    const first = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: [...items, items[0]],
    });
    expect(first.body).toEqual({ accepted: 50, duplicates: 1 });
    const again = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, { items });
    expect(again.body).toEqual({ accepted: 0, duplicates: 50 });
    expect(await drained(base, key, stream.id)).toEqual({
      accepted: 50,
      embedded: 50,
      searchable: 50,
      failed: 0,
      lag: 0,
    });
    const late = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: items.slice(0, 10),
    });
    expect(late.body).toEqual({ accepted: 0, duplicates: 10 });
    // Proof that the pipeline had its chance to redo the duplicates: an item sent after them is
    // embedded and in the index, and the embedding queue has nothing left waiting or running.
    const after = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: [{ id: 'after', text: 'sent after the duplicates' }],
    });
    expect(after.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(await drained(base, key, stream.id)).toEqual({
      accepted: 51,
      embedded: 51,
      searchable: 51,
      failed: 0,
      lag: 0,
    });
    const points = async () =>
      (await call(base, 'GET', '/v1/collections', key)).body.data[0].points as number;
    await waitUntil(
      'the item sent after the duplicates to reach the index',
      async () => (await points()) > 50,
    );
    const queue = createQueue(
      embedQueueName('use-lite@1'),
      { redisUrl: platform.env['REDIS_URL']!, prefix: platform.env['REDIS_PREFIX']! },
      'e2e-dupes',
    );
    try {
      await waitUntil('the embedding queue to be idle', async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      });
    } finally {
      await queue.close();
    }
    expect(await points()).toBe(51);
    expect((await call(base, 'GET', `/v1/streams/${stream.id}`, key)).body.counters.embedded).toBe(51);
  });

  it('reads NDJSON incrementally: good lines kept, bad lines reported by number', async () => {
    const { key } = await newTenant(base, 'ndjson');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'bulk', kind: 'text' })).body;
    const lines = Array.from({ length: 2500 }, (_, i) => JSON.stringify({ id: `n${i}`, text: tweet(i) }));
    lines.splice(10, 0, '{"id": "broken", "text": ');
    lines.splice(20, 0, JSON.stringify({ id: 'no-text' }));
    lines.splice(30, 0, '');
    const response = await fetch(`${base}/v1/streams/${stream.id}/items:ndjson`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
      body: lines.join('\n'),
    });
    const body = (await response.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(response.status).toBe(202);
    expect(body.accepted).toBe(2500);
    expect(body.invalidCount).toBe(2);
    expect(body.invalid.map((l: { line: number }) => l.line)).toEqual([11, 21]);
    expect(body.invalid[1].error).toContain('text');
    expect((await drained(base, key, stream.id)).embedded).toBe(2500);
  });

  it('takes signed webhooks and refuses bad, stale or missing signatures with 401', async () => {
    const { key } = await newTenant(base, 'hooks');
    const created = (await call(base, 'POST', '/v1/streams', key, { name: 'hooked', kind: 'text' })).body;
    const body = JSON.stringify({ items: [{ id: 'w1', text: 'sent by a webhook' }] });
    const post = (headers: Record<string, string>, payload = body) =>
      fetch(`${base}/v1/hooks/${created.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: payload,
      });
    const now = Math.floor(Date.now() / 1000);
    const good = await post(signWebhookForTest(created.webhook.secret, now, body));
    expect(good.status).toBe(202);
    expect(await good.json()).toEqual({ accepted: 1, duplicates: 0 });

    const tampered = await post(
      signWebhookForTest(created.webhook.secret, now, body),
      body.replace('webhook', 'attacker'),
    );
    expect(tampered.status).toBe(401);
    expect(((await tampered.json()) as { error: { message: string } }).error.message).toContain(
      'signature does not match',
    );
    const stale = await post(signWebhookForTest(created.webhook.secret, now - 301, body));
    expect(stale.status).toBe(401);
    expect(((await stale.json()) as { error: { message: string } }).error.message).toContain(
      'outside the 300 s window',
    );
    expect((await post({})).status).toBe(401);
    const wrongSecret = await post(signWebhookForTest('whsec_guess', now, body));
    expect(wrongSecret.status).toBe(401);
    expect((await drained(base, key, created.id)).embedded).toBe(1);
  });

  /**
   * Gives an accepted, not yet embedded item `text` in PostgreSQL and in its queued job: an item
   * stored before the API refused text with nothing to embed (422), which workers still meet.
   */
  async function rewriteQueuedItem(streamId: string, itemId: string, text: string): Promise<void> {
    const pool = createPgPool(platform.db.url, { poolSize: 1, allowExitOnIdle: true });
    const queue = createQueue(
      embedQueueName('use-lite@1'),
      { redisUrl: platform.env['REDIS_URL']!, prefix: platform.env['REDIS_PREFIX']! },
      'e2e:rewrite',
    );
    try {
      const { rows } = await pool.query<{ jobId: string }>(
        `UPDATE item SET text = $3 WHERE stream_id = $1::uuid AND id = $2 RETURNING job_id AS "jobId"`,
        [streamId, itemId, text],
      );
      const job = await queue.getJob(rows[0]!.jobId);
      const data = job!.data as ItemEmbedData;
      await job!.updateData({
        ...data,
        items: data.items.map((item) => (item.itemId === itemId ? { ...item, text } : item)),
      });
    } finally {
      await queue.close();
      await pool.end();
    }
  }

  it('lists items that failed for good, and retries them on request', async () => {
    const { key } = await newTenant(base, 'failures');
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'mixed', kind: 'text' })).body;
    const blank = ' \u0007  ';
    const refused = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: [{ id: 'blank', text: blank }],
    });
    expect(refused.status).toBe(422);
    // So the worker meets such an item, it is accepted with text and blanked while no worker runs.
    await platform.stop('worker');
    try {
      const sent = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
        items: [
          { id: 'fine', text: 'a perfectly good sentence' },
          { id: 'blank', text: 'blanked below' },
        ],
      });
      expect(sent.body.accepted).toBe(2);
      await rewriteQueuedItem(stream.id, 'blank', blank);
    } finally {
      await platform.start('worker');
    }
    expect(await drained(base, key, stream.id)).toEqual({
      accepted: 2,
      embedded: 1,
      searchable: 1,
      failed: 1,
      lag: 0,
    });
    const failures = await call(base, 'GET', `/v1/streams/${stream.id}/failures`, key);
    expect(failures.body.data).toEqual([
      {
        id: 'blank',
        reason: 'empty_text',
        error: expect.stringContaining('empty once normalised'),
        retries: 0,
        acceptedAt: expect.any(String),
      },
    ]);
    const retried = await call(base, 'POST', `/v1/streams/${stream.id}/failures/retry`, key, {});
    expect(retried.status).toBe(202);
    expect(retried.body.accepted).toBe(1);
    expect(await drained(base, key, stream.id)).toEqual({
      accepted: 2,
      embedded: 1,
      searchable: 1,
      failed: 1,
      lag: 0,
    });
    expect((await call(base, 'GET', `/v1/streams/${stream.id}/failures`, key)).body.data[0].retries).toBe(1);
  });

  it('keeps tenants apart: streams, collections and items of another tenant are not found', async () => {
    const a = await newTenant(base, 'iso-a');
    const b = await newTenant(base, 'iso-b');
    const stream = (await call(base, 'POST', '/v1/streams', a.key, { name: 'private', kind: 'text' })).body;
    await call(base, 'POST', `/v1/streams/${stream.id}/items`, a.key, {
      items: [{ id: 'secret', text: 'tenant a only' }],
    });
    await drained(base, a.key, stream.id);
    expect((await call(base, 'GET', `/v1/streams/${stream.id}`, b.key)).status).toBe(404);
    expect(
      (await call(base, 'POST', `/v1/streams/${stream.id}/items`, b.key, { items: [{ id: 'x', text: 'y' }] }))
        .status,
    ).toBe(404);
    expect(
      (await call(base, 'POST', '/v1/collections/private/search', b.key, { query: 'tenant a', k: 5 })).status,
    ).toBe(404);
    expect((await call(base, 'DELETE', '/v1/collections/private/items/secret', b.key)).status).toBe(404);
    expect((await call(base, 'GET', '/v1/collections', b.key)).body.data).toEqual([]);
    // B's own collection of the same name is a different index.
    const own = (await call(base, 'POST', '/v1/streams', b.key, { name: 'private', kind: 'text' })).body;
    await call(base, 'POST', `/v1/streams/${own.id}/items`, b.key, {
      items: [{ id: 'mine', text: 'tenant b data' }],
    });
    await drained(base, b.key, own.id);
    // Both streams drained, so both items are searchable: A's item was there for B's search to find.
    const search = (tenantKey: string) =>
      call(base, 'POST', '/v1/collections/private/search', tenantKey, { query: 'tenant a only', k: 5 });
    const ids = async (tenantKey: string) =>
      ((await search(tenantKey)).body.data as { id: string }[]).map((h) => h.id);
    expect(await ids(a.key)).toEqual(['secret']);
    expect(await ids(b.key)).toEqual(['mine']);
  });

  it('answers bad input with a 4xx that says what is wrong', async () => {
    const { key } = await newTenant(base, 'bad-input');
    expect((await call(base, 'POST', '/v1/streams', key, { name: 'Bad Name', kind: 'text' })).status).toBe(
      422,
    );
    expect((await call(base, 'POST', '/v1/streams', key, { name: 'ok', kind: 'video' })).status).toBe(422);
    const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'ok', kind: 'text' })).body;
    expect((await call(base, 'POST', '/v1/streams', key, { name: 'ok', kind: 'text' })).status).toBe(409);
    const tooMany = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, {
      items: Array.from({ length: 1001 }, (_, i) => ({ id: String(i), text: 'x' })),
    });
    expect(tooMany.status).toBe(422);
    const noId = await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, { items: [{ text: 'x' }] });
    expect(noId.status).toBe(422);
    expect(JSON.stringify(noId.body.error.details)).toContain('items.0.id');
    const badK = await call(base, 'POST', '/v1/collections/ok/search', key, { query: 'x', k: 101 });
    expect(badK.status).toBe(422);
    const badVector = await call(base, 'POST', '/v1/collections/ok/search', key, { query: [1, 2, 3] });
    expect(badVector.status).toBe(422);
    expect(badVector.body.error.message).toContain('512-dimensional');
  });

  it('reports ingest, queue depth, freshness, index and search timings, and failures in /metrics', async () => {
    /** The value of a series, whatever the order of its labels (undefined when absent). */
    const value = (text: string, name: string, labels: Record<string, string>) => {
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
        );
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    const api = await (await fetch(`${base}/metrics`)).text();
    expect(
      value(api, 'tributary_items_ingested_total', { channel: 'rest', outcome: 'accepted' }),
    ).toBeGreaterThan(0);
    expect(value(api, 'tributary_items_ingested_total', { channel: 'ndjson', outcome: 'invalid' })).toBe(2);
    expect(value(api, 'tributary_queue_depth', { queue: 'embed-use-lite-1' })).toBeGreaterThanOrEqual(0);
    expect(value(api, 'tributary_freshness_seconds_count', { store: 'embedded' })).toBeGreaterThan(0);
    expect(
      value(api, 'tributary_index_upsert_duration_seconds_count', { store: 'embedded' }),
    ).toBeGreaterThan(0);
    expect(value(api, 'tributary_search_duration_seconds_count', { store: 'embedded' })).toBeGreaterThan(0);
    const worker = await (await fetch(platform.workerMetrics)).text();
    expect(value(worker, 'tributary_items_embedded_total', { model: 'use-lite@1' })).toBeGreaterThan(0);
    expect(value(worker, 'tributary_item_failures_total', { reason: 'bad_input' })).toBeGreaterThan(0);
    expect(value(worker, 'tributary_worker_batch_items_count', { model: 'use-lite@1' })).toBeGreaterThan(0);
  });
});
