import { PrismaService } from '@tributary/db';
import { createTenantWithKey, startApi, type ApiHarness } from '../testing/api-harness';
import { signWebhook } from './webhook-signature';

const LIMITS = { rateLimitPerSecond: 1000, rateLimitBurst: 1000 };

interface StoredItem {
  id: string;
  text: string;
  groupId: string | null;
  sequence: number | null;
  sensorValues: Record<string, number> | null;
  occurredAt: Date | null;
}

describe('items and settings per stream kind (real PostgreSQL and Redis; no worker)', () => {
  let api: ApiHarness;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await createTenantWithKey(api, 'kinds', LIMITS));
  }, 60_000);
  afterAll(() => api.close());

  const createStream = (body: Record<string, unknown>) =>
    api.request({ method: 'POST', url: '/v1/streams', key, body });

  async function streamOf(
    body: Record<string, unknown>,
  ): Promise<{ id: string; webhook: { secret: string } }> {
    const res = await createStream(body);
    expect(res.status).toBe(201);
    return res.body as { id: string; webhook: { secret: string } };
  }

  const send = (streamId: string, items: unknown[]) =>
    api.request({ method: 'POST', url: `/v1/streams/${streamId}/items`, key, body: { items } });

  async function stored(streamId: string): Promise<StoredItem[]> {
    const { rows } = await api.app.get(PrismaService).sql.query<StoredItem>(
      `SELECT id, text, group_id AS "groupId", sequence, sensor_values AS "sensorValues", occurred_at AS "occurredAt"
         FROM item WHERE stream_id = $1::uuid ORDER BY group_id, sequence, id`,
      [streamId],
    );
    return rows;
  }

  describe('settings', () => {
    it('are answered with the defaults filled in, on creation, in the list and by id', async () => {
      const chat = await createStream({
        name: 'chat-settings',
        kind: 'conversation',
        contextWindow: 8,
      });
      expect(chat.status).toBe(201);
      expect(chat.body.settings).toEqual({ contextWindow: 8, decay: 1 });
      const docs = await streamOf({ name: 'doc-settings', kind: 'document', settings: { temperature: 2 } });
      const sensors = await streamOf({ name: 'sensor-settings', kind: 'sensor' });
      const texts = await streamOf({ name: 'text-settings', kind: 'text' });

      const byId = async (id: string) =>
        (await api.request({ method: 'GET', url: `/v1/streams/${id}`, key })).body.settings as unknown;
      expect(await byId(chat.body.id as string)).toEqual({ contextWindow: 8, decay: 1 });
      expect(await byId(docs.id)).toEqual({ temperature: 2 });
      expect(await byId(sensors.id)).toEqual({ timeZone: 'UTC' });
      expect(await byId(texts.id)).toEqual({});
      const list = await api.request({ method: 'GET', url: '/v1/streams', key });
      const settingsOf = Object.fromEntries(
        (list.body.data as { name: string; settings: unknown }[]).map((s) => [s.name, s.settings]),
      );
      expect(settingsOf).toMatchObject({
        'chat-settings': { contextWindow: 8, decay: 1 },
        'doc-settings': { temperature: 2 },
        'sensor-settings': { timeZone: 'UTC' },
        'text-settings': {},
      });
      // Only what the creator set is stored: the defaults stay the contracts' to fill in.
      const { rows } = await api.app
        .get(PrismaService)
        .sql.query<{ settings: unknown }>(`SELECT settings FROM stream WHERE id = $1::uuid`, [chat.body.id]);
      expect(rows[0]!.settings).toEqual({ contextWindow: 8 });
    });

    it('of another kind are refused with a 422 naming the field and the kind that takes it', async () => {
      const res = await createStream({ name: 'text-window', kind: 'text', contextWindow: 3 });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({
        code: 'validation_failed',
        param: 'contextWindow',
        details: [
          { path: 'contextWindow', message: 'is a setting of conversation streams, not of text streams' },
        ],
      });
      const zone = await createStream({
        name: 'bad-zone',
        kind: 'sensor',
        settings: { timeZone: 'Nowhere/City' },
      });
      expect(zone.status).toBe(422);
      expect(zone.body.error.details[0].path).toBe('settings.timeZone');
    });
  });

  describe('conversations', () => {
    it('number messages sent without a sequence by arrival, across concurrent requests, each id once', async () => {
      const chat = await streamOf({ name: 'chats', kind: 'conversation' });
      // Four requests at once, each with messages of the same two conversations.
      const prefixes = ['a', 'b', 'c', 'd'];
      const batch = (prefix: string) =>
        Array.from({ length: 30 }, (_, i) => ({
          id: `${prefix}-${i}`,
          conversationId: i % 2 === 0 ? 'alpha' : 'beta',
          text: `message ${i} from ${prefix}`,
        }));
      const answers = await Promise.all(prefixes.map((prefix) => send(chat.id, batch(prefix))));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
      expect(answers.reduce((sum, a) => sum + (a.body.accepted as number), 0)).toBe(120);

      const sequencesOf = async (conversation: string) =>
        (await stored(chat.id)).filter((i) => i.groupId === conversation).map((i) => i.sequence);
      const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);
      expect(await sequencesOf('alpha')).toEqual(upTo(60));
      expect(await sequencesOf('beta')).toEqual(upTo(60));
      // Each request's messages keep their order within a conversation.
      const alpha = (await stored(chat.id)).filter((i) => i.groupId === 'alpha');
      for (const prefix of prefixes) {
        const own = alpha.filter((i) => i.id.startsWith(`${prefix}-`)).map((i) => Number(i.id.split('-')[1]));
        expect(own).toEqual([...own].sort((x, y) => x - y));
      }

      // A repeated id takes no number; a new message comes after the highest.
      const again = await send(chat.id, [
        { id: 'a-0', conversationId: 'alpha', text: 'sent again' },
        { id: 'late', conversationId: 'alpha', text: 'a later message' },
      ]);
      expect(again.body).toEqual({ accepted: 1, duplicates: 1 });
      expect(await sequencesOf('alpha')).toEqual(upTo(61));
      expect((await stored(chat.id)).find((i) => i.id === 'late')!.sequence).toBe(60);
    });

    it('store explicit sequences as sent, and number after them', async () => {
      const chat = await streamOf({ name: 'chats-explicit', kind: 'conversation' });
      expect(
        (
          await send(chat.id, [
            { id: 'x1', conversationId: 'c', sequence: 10, text: 'ten' },
            { id: 'x2', conversationId: 'c', sequence: 3, text: 'three' },
          ])
        ).status,
      ).toBe(202);
      expect((await send(chat.id, [{ id: 'x3', conversationId: 'c', text: 'next' }])).status).toBe(202);
      expect((await stored(chat.id)).map((i) => [i.id, i.sequence])).toEqual([
        ['x2', 3],
        ['x1', 10],
        ['x3', 11],
      ]);
    });

    it('refuse messages without conversationId, and fields of other kinds, with a 422 naming each', async () => {
      const chat = await streamOf({ name: 'chats-refused', kind: 'conversation' });
      const res = await send(chat.id, [
        { id: 'ok', conversationId: 'c', text: 'fine' },
        { id: 'no-conversation', text: 'lost' },
        { id: 'with-values', conversationId: 'c', text: 'x', values: { t: 1 } },
      ]);
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({
        code: 'validation_failed',
        param: 'items.1.conversationId',
        details: [
          {
            path: 'items.1.conversationId',
            message: 'required in a conversation stream: the id of the conversation the message belongs to',
          },
          {
            path: 'items.2.values',
            message: 'is taken by sensor streams only; this is a conversation stream',
          },
        ],
      });
      expect(res.body.error.message).toMatch(/^Request is invalid: items\.1\.conversationId: required/);
      expect(await stored(chat.id)).toEqual([]);
    });
  });

  it('documents: each sentence’s documentId and sequence are stored', async () => {
    const docs = await streamOf({ name: 'docs', kind: 'document' });
    const res = await send(docs.id, [
      { id: 'd1-0', documentId: 'd1', sequence: 0, text: 'First sentence.' },
      { id: 'd1-1', documentId: 'd1', sequence: 1, text: 'Second sentence.' },
      { id: 'd2-0', documentId: 'd2', sequence: 0, text: 'Another document.' },
    ]);
    expect(res.status).toBe(202);
    expect((await stored(docs.id)).map((i) => [i.id, i.groupId, i.sequence])).toEqual([
      ['d1-0', 'd1', 0],
      ['d1-1', 'd1', 1],
      ['d2-0', 'd2', 0],
    ]);
    const missing = await send(docs.id, [{ id: 'd3-0', documentId: 'd3', text: 'No position.' }]);
    expect(missing.status).toBe(422);
    expect(missing.body.error.details).toEqual([
      {
        path: 'items.0.sequence',
        message: 'required in a document stream: the sentence’s position in the document (an integer from 0)',
      },
    ]);
  });

  it('sensors: values and timestamp are stored, text is optional (stored empty)', async () => {
    const sensors = await streamOf({ name: 'sensors', kind: 'sensor' });
    const res = await send(sensors.id, [
      { id: 'r1', timestamp: '2026-12-01T10:00:00Z', values: { temperature: 21.5, humidity: 40 } },
      { id: 'r2', timestamp: '2026-12-01T10:01:00+01:00', values: { temperature: -3 }, text: 'door opened' },
    ]);
    expect(res.status).toBe(202);
    expect(await stored(sensors.id)).toEqual([
      {
        id: 'r1',
        text: '',
        groupId: null,
        sequence: null,
        sensorValues: { temperature: 21.5, humidity: 40 },
        occurredAt: new Date('2026-12-01T10:00:00Z'),
      },
      {
        id: 'r2',
        text: 'door opened',
        groupId: null,
        sequence: null,
        sensorValues: { temperature: -3 },
        occurredAt: new Date('2026-12-01T09:01:00Z'),
      },
    ]);
  });

  it('text streams refuse the other kinds’ fields on every channel: REST, webhook and NDJSON (by line)', async () => {
    const texts = await streamOf({ name: 'texts', kind: 'text' });
    const items = [{ id: 't1', text: 'hello', conversationId: 'c' }];
    const rest = await send(texts.id, items);
    expect(rest.status).toBe(422);
    expect(rest.body.error.details).toEqual([
      {
        path: 'items.0.conversationId',
        message: 'is taken by conversation streams only; this is a text stream',
      },
    ]);

    const payload = JSON.stringify({ items });
    const timestamp = Math.floor(Date.now() / 1000);
    const hook = await api.request({
      method: 'POST',
      url: `/v1/hooks/${texts.id}`,
      payload,
      headers: {
        'content-type': 'application/json',
        'x-tributary-timestamp': String(timestamp),
        'x-tributary-signature': signWebhook(texts.webhook.secret, timestamp, payload),
      },
    });
    expect(hook.status).toBe(422);
    expect(hook.body.error.details).toEqual(rest.body.error.details);

    const ndjson = await api.request({
      method: 'POST',
      url: `/v1/streams/${texts.id}/items:ndjson`,
      key,
      headers: { 'content-type': 'application/x-ndjson' },
      payload: [
        JSON.stringify({ id: 'n1', text: 'fine' }),
        JSON.stringify({ id: 'n2', text: 'a reading', values: { t: 1 } }),
        JSON.stringify({ id: 'n3' }),
      ].join('\n'),
    });
    expect(ndjson.status).toBe(202);
    expect(ndjson.body).toEqual({
      accepted: 1,
      duplicates: 0,
      invalid: [
        { line: 2, error: 'values: is taken by sensor streams only; this is a text stream' },
        { line: 3, error: 'text: required in a text stream: the text to embed' },
      ],
      invalidCount: 2,
    });
    expect((await stored(texts.id)).map((i) => i.id)).toEqual(['n1']);
  });
});
