import { mkdirSync, rmSync } from 'node:fs';
import { createPgPool } from '@tributary/db';
import { waitUntil } from '@tributary/testing';
import { call } from './support/app-process';
import { startLauncherPlatform, type DurabilityPlatform } from './support/durability-platform';
import { drained, newTenant, startPlatform, type Platform } from './support/pipeline';

/** A stored float32 vector (item.vector, derived_vector.vector) as numbers. */
function floats(bytes: Buffer): number[] {
  const copy = new Uint8Array(bytes).buffer;
  return Array.from(new Float32Array(copy));
}

function normalize(v: number[]): number[] {
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / norm);
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** The formula, written out here on its own: normalize(Σ_{j<W} decay^j · e_{n-j}). */
function expectedContext(ordered: number[][], at: number, window: number, decay: number): number[] {
  const sum = new Array<number>(ordered[0]!.length).fill(0);
  for (let j = 0; j < window && at - j >= 0; j += 1)
    ordered[at - j]!.forEach((x, d) => (sum[d]! += decay ** j * x));
  return normalize(sum);
}

/** normalize(Σ_i softmax_i(e_i · m / τ) · e_i), m = normalize(Σ_i e_i). */
function expectedDocument(sentences: number[][], temperature: number): number[] {
  const m = normalize(
    sentences.reduce(
      (s, e) => s.map((x, d) => x + e[d]!),
      sentences[0]!.map(() => 0),
    ),
  );
  const logits = sentences.map((e) => dot(e, m) / temperature);
  const max = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - max));
  const total = weights.reduce((s, w) => s + w, 0);
  return normalize(
    sentences.reduce(
      (s, e, i) => s.map((x, d) => x + (weights[i]! / total) * e[d]!),
      sentences[0]!.map(() => 0),
    ),
  );
}

function expectClose(actual: number[], expected: number[], tolerance = 1e-5) {
  expect(actual).toHaveLength(expected.length);
  const worst = Math.max(...actual.map((x, i) => Math.abs(x - expected[i]!)));
  expect(worst).toBeLessThan(tolerance);
}

/**
 * Stream kinds with state over the real apps (API, worker), PostgreSQL, Redis and use-lite@1:
 * conversation context vectors (out of order, late and deleted messages recompute exactly the
 * contexts that include them) and attention-pooled document vectors, each checked against its
 * formula computed here from the stored item vectors; the `context` and `documents` search spaces;
 * the state endpoints; and another tenant sees none of it.
 */
describe('stream kinds (real apps, PostgreSQL, Redis, ONNX)', () => {
  let platform: Platform;
  let key: string;
  let other: string;
  let pool: ReturnType<typeof createPgPool>;

  beforeAll(async () => {
    platform = await startPlatform({ MODELS: 'use-lite@1,use-lite-int8@1', WORKER_QUEUES: 'all' });
    await platform.start('api');
    await platform.start('worker');
    ({ key } = await newTenant(platform.base, 'kinds'));
    ({ key: other } = await newTenant(platform.base, 'kinds-other'));
    pool = createPgPool(platform.db.url);
  }, 180_000);
  afterAll(async () => {
    await pool?.end();
    await platform?.close();
  });

  async function createStream(body: Record<string, unknown>): Promise<string> {
    const s = await call(platform.base, 'POST', '/v1/streams', key, body);
    expect(s.status).toBe(201);
    return s.body.id as string;
  }
  async function ingest(streamId: string, items: unknown[]) {
    const r = await call(platform.base, 'POST', `/v1/streams/${streamId}/items`, key, { items });
    expect(r.status).toBe(202);
  }
  /** A group's members in order with their own vectors, as PostgreSQL holds them. */
  async function storedVectors(streamId: string, groupId: string) {
    const { rows } = await pool.query<{ id: string; vector: Buffer }>(
      `SELECT id, vector FROM item WHERE stream_id = $1 AND group_id = $2 AND status = 'embedded'
       ORDER BY sequence, id`,
      [streamId, groupId],
    );
    return rows.map((r) => ({ id: r.id, vector: floats(r.vector) }));
  }
  async function derivedVectors(streamId: string, space: string) {
    const { rows } = await pool.query<{ key: string; vector: Buffer; members: number }>(
      `SELECT d.key, d.vector, d.members FROM derived_vector d JOIN space_index x ON x.id = d.space_id
       WHERE d.stream_id = $1 AND x.space = $2 ORDER BY d.key`,
      [streamId, space],
    );
    return new Map(rows.map((r) => [r.key, { vector: floats(r.vector), members: r.members }]));
  }
  /** Every context of a conversation against the formula over its stored vectors. */
  async function expectContexts(streamId: string, conversation: string, window: number, decay: number) {
    const ordered = await storedVectors(streamId, conversation);
    const derived = await derivedVectors(streamId, 'context');
    ordered.forEach((message, at) => {
      const got = derived.get(message.id);
      expect(got).toBeDefined();
      expectClose(
        got!.vector,
        expectedContext(
          ordered.map((m) => m.vector),
          at,
          window,
          decay,
        ),
      );
      expect(got!.members).toBe(Math.min(window, at + 1));
    });
    return ordered;
  }
  async function search(collection: string, body: Record<string, unknown>, tenantKey = key) {
    return call(platform.base, 'POST', `/v1/collections/${collection}/search`, tenantKey, body);
  }

  const chat = [
    'Hi, my order has not arrived yet',
    'Sorry to hear that, can you give me the order number?',
    'It is 4471, placed last Monday',
    'Thanks. The parcel is held at the depot because of a wrong address',
    'Oh, I moved last month. Can you send it to my new address?',
    'Done: it will be delivered tomorrow morning',
  ];
  const recipe = [
    'Preheat the oven to two hundred degrees',
    'Mix the flour, sugar and butter into a crumbly dough',
    'Press the dough into a tin and bake it for twenty minutes',
    'Let the tart cool before slicing it',
  ];

  it('gives each message a context vector over its last messages, recomputed exactly for late and deleted ones', async () => {
    const streamId = await createStream({
      name: 'support',
      kind: 'conversation',
      settings: { contextWindow: 3, decay: 0.5 },
    });
    // Out of order across requests; message 2 arrives last (late), and another conversation interleaves.
    const message = (i: number) => ({ id: `c1-${i}`, conversationId: 'c1', sequence: i, text: chat[i]! });
    await ingest(streamId, [message(5), message(0), message(3)]);
    await ingest(streamId, [
      message(4),
      message(1),
      { id: 'c2-0', conversationId: 'c2', text: 'Is the shop open on Sundays?' },
      { id: 'c2-1', conversationId: 'c2', text: 'Yes, from ten to four' },
    ]);
    await drained(platform.base, key, streamId);
    await ingest(streamId, [message(2)]);
    await drained(platform.base, key, streamId);
    const ordered = await expectContexts(streamId, 'c1', 3, 0.5);
    expect(ordered.map((m) => m.id)).toEqual(chat.map((_, i) => `c1-${i}`));
    await expectContexts(streamId, 'c2', 3, 0.5);

    // The state endpoint: the latest message's context, the message count and the last sequence.
    const state = await call(platform.base, 'GET', `/v1/streams/${streamId}/conversations/c1`, key);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ id: 'c1', messages: 6, lastSequence: 5, contextMessages: 3 });
    expectClose(
      state.body.context,
      expectedContext(
        ordered.map((m) => m.vector),
        5,
        3,
        0.5,
      ),
    );
    expect(state.body.items.map((m: { id: string }) => m.id)).toEqual(ordered.map((m) => m.id));
    // c2's messages had no sequence: arrival order within the conversation.
    const c2 = await call(platform.base, 'GET', `/v1/streams/${streamId}/conversations/c2`, key);
    expect(c2.body.items.map((m: { sequence: number }) => m.sequence)).toEqual([0, 1]);

    // Searching the context space with a message's context finds that message first; the default
    // space stays the messages themselves.
    const query = expectedContext(
      ordered.map((m) => m.vector),
      4,
      3,
      0.5,
    );
    await waitUntil(
      'the context points to be searchable',
      async () => (await search('support', { query, space: 'context', k: 3 })).body.data?.[0]?.id === 'c1-4',
      30_000,
      100,
    );
    const found = await search('support', { query, space: 'context', k: 3 });
    expect(found.body.data[0]).toMatchObject({
      id: 'c1-4',
      conversationId: 'c1',
      messages: 3,
      text: chat[4],
    });
    expect(found.body.data[0].score).toBeGreaterThan(0.9999);
    const plain = await search('support', { query: chat[4], k: 1 });
    expect(plain.body.data[0]).toEqual(expect.objectContaining({ id: 'c1-4' }));
    expect(plain.body.data[0].conversationId).toBeUndefined();

    // Deleting a message recomputes the contexts that included it; its own context goes.
    const deleted = await call(platform.base, 'DELETE', '/v1/collections/support/items/c1-2', key);
    expect(deleted.status).toBe(204);
    const left = await expectContexts(streamId, 'c1', 3, 0.5);
    expect(left.map((m) => m.id)).toEqual(['c1-0', 'c1-1', 'c1-3', 'c1-4', 'c1-5']);
    expect((await derivedVectors(streamId, 'context')).has('c1-2')).toBe(false);
    await waitUntil(
      'the deleted message to leave the context space',
      async () => {
        const hits = (await search('support', { query, space: 'context', k: 10 })).body.data as {
          id: string;
        }[];
        return !hits.some((h) => h.id === 'c1-2');
      },
      30_000,
      100,
    );

    // The API killed and its index files lost: the context space comes back from PostgreSQL.
    const before = (await search('support', { query, space: 'context', k: 5 })).body.data as unknown[];
    await platform.stop('api', 'SIGKILL');
    rmSync(platform.vectorDir, { recursive: true, force: true });
    mkdirSync(platform.vectorDir);
    await platform.start('api');
    await waitUntil(
      'the context space to be rebuilt',
      async () => (await search('support', { query, space: 'context', k: 5 })).body.data?.length === 5,
      60_000,
      100,
    );
    expect((await search('support', { query, space: 'context', k: 5 })).body.data).toEqual(before);

    // Per-kind metrics, labelled by kind alone (no tenant, stream or collection).
    const metrics = await (await fetch(platform.workerMetrics)).text();
    const series = metrics.split('\n').filter((l) => l.startsWith('tributary_kind_'));
    expect(
      series.some((l) => /^tributary_kind_items_total\{[^}]*kind="conversation"[^}]*\} [1-9]/.test(l)),
    ).toBe(true);
    expect(series.some((l) => l.startsWith('tributary_kind_state_updates_total{'))).toBe(true);
    expect(series.some((l) => l.startsWith('tributary_kind_update_duration_seconds_count{'))).toBe(true);
    expect(series.filter((l) => /tenant|stream=|collection=/.test(l))).toEqual([]);

    // Another tenant: no such stream, no such collection.
    expect((await call(platform.base, 'GET', `/v1/streams/${streamId}/conversations/c1`, other)).status).toBe(
      404,
    );
    expect((await search('support', { query, space: 'context' }, other)).status).toBe(404);
  }, 240_000);

  it('pools a document’s sentences by attention, whatever their arrival order, and searches documents', async () => {
    const streamId = await createStream({ name: 'recipes', kind: 'document', temperature: 0.1 });
    const sentence = (doc: string, texts: string[], i: number) => ({
      id: `${doc}-${i}`,
      documentId: doc,
      sequence: i,
      text: texts[i]!,
    });
    const rain = ['It rained all day in Lisbon', 'The streets were flooded by the evening'];
    await ingest(streamId, [
      sentence('tart', recipe, 2),
      sentence('rain', rain, 1),
      sentence('tart', recipe, 0),
    ]);
    await drained(platform.base, key, streamId);
    await ingest(streamId, [
      sentence('tart', recipe, 3),
      sentence('rain', rain, 0),
      sentence('tart', recipe, 1),
    ]);
    await drained(platform.base, key, streamId);

    const derived = await derivedVectors(streamId, 'documents');
    for (const doc of ['tart', 'rain']) {
      const sentences = (await storedVectors(streamId, doc)).map((s) => s.vector);
      expectClose(derived.get(doc)!.vector, expectedDocument(sentences, 0.1));
      expect(derived.get(doc)!.members).toBe(sentences.length);
    }
    const state = await call(platform.base, 'GET', `/v1/streams/${streamId}/documents/tart`, key);
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ id: 'tart', sentences: 4, vectorSentences: 4 });
    expect(state.body.items.map((s: { text: string }) => s.text)).toEqual(recipe);
    expectClose(state.body.vector, derived.get('tart')!.vector);

    await waitUntil(
      'the document points to be searchable',
      async () =>
        (await search('recipes', { query: 'baking a tart', space: 'documents', k: 2 })).body.data?.length ===
        2,
      30_000,
      100,
    );
    const hits = await search('recipes', { query: 'baking a tart', space: 'documents', k: 2 });
    expect(hits.body.data.map((h: { id: string }) => h.id)).toEqual(['tart', 'rain']);
    expect(hits.body.data[0].sentences).toBe(4);

    // A space no stream of the collection feeds is refused with what to do instead.
    const wrong = await search('recipes', { query: 'tart', space: 'context' });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.message).toMatch(/no conversation stream/);
    expect((await call(platform.base, 'GET', `/v1/streams/${streamId}/documents/tart`, other)).status).toBe(
      404,
    );
    expect((await call(platform.base, 'GET', `/v1/streams/${streamId}/documents/none`, key)).status).toBe(
      404,
    );
  }, 240_000);

  it('a rollout backfills the candidate’s spaces too, and after the promotion the spaces answer by the new version', async () => {
    const streamId = await createStream({ name: 'chats', kind: 'conversation', contextWindow: 2 });
    const messages = chat.map((text, i) => ({ id: `r-${i}`, conversationId: 'r', text }));
    await ingest(streamId, messages);
    await drained(platform.base, key, streamId);
    const started = await call(platform.base, 'POST', '/v1/collections/chats/rollouts', key, {
      model: 'use-lite-int8@1',
    });
    expect(started.status).toBe(201);
    const url = `/v1/collections/chats/rollouts/${started.body.id}`;
    await waitUntil(
      'the candidate to be ready',
      async () => (await call(platform.base, 'GET', url, key)).body.state === 'ready',
      120_000,
      200,
    );
    // The candidate's context space holds every message's context, by the candidate's vectors.
    const { rows } = await pool.query<{ key: string; vector: Buffer; members: number }>(
      `SELECT d.key, d.vector, d.members FROM derived_vector d
       JOIN space_index x ON x.id = d.space_id JOIN collection_version v ON v.id = x.version_id
       WHERE d.stream_id = $1 AND x.space = 'context' AND v.model = 'use-lite-int8@1' ORDER BY d.key`,
      [streamId],
    );
    expect(rows.map((r) => r.key)).toEqual(messages.map((m) => m.id).sort());
    const { rows: own } = await pool.query<{ item_id: string; vector: Buffer }>(
      `SELECT iv.item_id, iv.vector FROM item_vector iv JOIN collection_version v ON v.id = iv.version_id
       JOIN item i ON i.stream_id = iv.stream_id AND i.id = iv.item_id
       WHERE iv.stream_id = $1 AND v.model = 'use-lite-int8@1' ORDER BY i.sequence`,
      [streamId],
    );
    const candidate = own.map((r) => floats(r.vector));
    own.forEach((r, at) => {
      const got = rows.find((d) => d.key === r.item_id)!;
      expectClose(floats(got.vector), expectedContext(candidate, at, 2, 1));
    });

    const promoted = await call(platform.base, 'POST', `${url}/promote`, key);
    expect(promoted.status).toBe(200);
    const query = expectedContext(candidate, 3, 2, 1);
    const hits = await search('chats', { query, space: 'context', k: 1 });
    expect(hits.headers.get('x-tributary-model')).toBe('use-lite-int8@1');
    await waitUntil(
      'the candidate’s context points to be searchable',
      async () => (await search('chats', { query, space: 'context', k: 1 })).body.data?.[0]?.id === 'r-3',
      30_000,
      100,
    );
  }, 300_000);
});

describe('stream kinds in the default mode (npm run up: the launcher’s PostgreSQL and redis-server)', () => {
  let p: DurabilityPlatform;

  beforeAll(async () => {
    p = await startLauncherPlatform();
  }, 300_000);
  afterAll(() => p?.close());

  it('a worker killed while conversations stream in leaves every context as the formula says; another tenant sees none', async () => {
    const { key } = await newTenant(p.base, 'kinds-up');
    const { key: other } = await newTenant(p.base, 'kinds-up-other');
    const created = await call(p.base, 'POST', '/v1/streams', key, {
      name: 'chats',
      kind: 'conversation',
      contextWindow: 3,
    });
    expect(created.status).toBe(201);
    const streamId = created.body.id as string;
    // 100 conversations of 20 messages, interleaved, no sequences: numbered by arrival.
    const messages = Array.from({ length: 2_000 }, (_, i) => ({
      id: `m${i}`,
      conversationId: `c${i % 100}`,
      text: `message ${Math.floor(i / 100)} of conversation ${i % 100}: ${['rain', 'match', 'price', 'flight'][i % 4]} ${i}`,
    }));
    for (let at = 0; at < messages.length; at += 250) {
      const r = await call(p.base, 'POST', `/v1/streams/${streamId}/items`, key, {
        items: messages.slice(at, at + 250),
      });
      expect(r.status).toBe(202);
    }
    await waitUntil(
      'some messages to be embedded',
      async () => (await call(p.base, 'GET', `/v1/streams/${streamId}`, key)).body.counters.embedded > 0,
      120_000,
      20,
    );
    await p.killWorker();
    await drained(p.base, key, streamId, 600_000);

    const items = await p.query<{ id: string; group_id: string; vector: Buffer }>(
      `SELECT id, group_id, vector FROM item WHERE stream_id = $1::uuid AND status = 'embedded'
       ORDER BY group_id, sequence, id`,
      [streamId],
    );
    expect(items).toHaveLength(2_000);
    const derived = new Map(
      (
        await p.query<{ key: string; vector: Buffer }>(
          `SELECT key, vector FROM derived_vector WHERE stream_id = $1::uuid`,
          [streamId],
        )
      ).map((r) => [r.key, floats(r.vector)]),
    );
    expect(derived.size).toBe(2_000);
    const byConversation = new Map<string, { id: string; vector: number[] }[]>();
    for (const item of items) {
      const list = byConversation.get(item.group_id) ?? [];
      list.push({ id: item.id, vector: floats(item.vector) });
      byConversation.set(item.group_id, list);
    }
    for (const ordered of byConversation.values())
      ordered.forEach((m, at) =>
        expectClose(
          derived.get(m.id)!,
          expectedContext(
            ordered.map((o) => o.vector),
            at,
            3,
            1,
          ),
        ),
      );
    expect((await call(p.base, 'GET', `/v1/streams/${streamId}/conversations/c7`, key)).body.messages).toBe(
      20,
    );
    expect((await call(p.base, 'GET', `/v1/streams/${streamId}/conversations/c7`, other)).status).toBe(404);
    const query = derived.get('m7')!;
    expect(
      (await call(p.base, 'POST', '/v1/collections/chats/search', other, { query, space: 'context' })).status,
    ).toBe(404);
  }, 900_000);
});
