import {
  isTimeZone,
  requestedStreamSettings,
  STREAM_SETTINGS_DEFAULTS,
  streamKinds,
  streamSettings,
  type StreamKind,
} from './stream-kinds';
import { createStreamSchema, itemSchema, itemSchemaFor } from './streams';

/** The issues of parsing `value`, as `path: message`, or [] when it is valid. */
function issues(
  schema: { safeParse(v: unknown): { error?: { issues: { path: PropertyKey[]; message: string }[] } } },
  value: unknown,
) {
  return (schema.safeParse(value).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

const at = '2026-12-01T10:00:00Z';
/** A valid item of each kind. */
const valid: Record<StreamKind, Record<string, unknown>> = {
  text: { id: 't1', text: 'Rain again in Lisbon', metadata: { lang: 'en' }, timestamp: at },
  conversation: { id: 'm1', conversationId: 'chat-1', text: 'Hello, my order is late' },
  document: { id: 's1', documentId: 'doc-1', sequence: 0, text: 'The first sentence.' },
  sensor: { id: 'r1', timestamp: at, values: { temperature: 21.5, humidity_pct: 40 } },
};

describe('items per stream kind', () => {
  it('each kind accepts its own fields, and the body schema accepts all of them', () => {
    for (const kind of streamKinds) {
      expect({ kind, issues: issues(itemSchemaFor(kind), valid[kind]) }).toEqual({ kind, issues: [] });
      expect(issues(itemSchema, valid[kind])).toEqual([]);
    }
    expect(issues(itemSchemaFor('conversation'), { ...valid.conversation, sequence: 2 ** 31 - 1 })).toEqual(
      [],
    );
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, text: 'door opened' })).toEqual([]);
  });

  it('text items are refused the other kinds’ fields, each naming the kinds that take it', () => {
    expect(
      issues(itemSchemaFor('text'), {
        ...valid.text,
        conversationId: 'c',
        documentId: 'd',
        sequence: 1,
        values: { a: 1 },
      }),
    ).toEqual([
      'conversationId: is taken by conversation streams only; this is a text stream',
      'documentId: is taken by document streams only; this is a text stream',
      'sequence: is taken by conversation and document streams only; this is a text stream',
      'values: is taken by sensor streams only; this is a text stream',
    ]);
    expect(issues(itemSchemaFor('text'), { id: 't' })).toEqual([
      'text: required in a text stream: the text to embed',
    ]);
  });

  it('conversation items need conversationId and text; sequence is optional, bounded', () => {
    expect(issues(itemSchemaFor('conversation'), { id: 'm' })).toEqual([
      'conversationId: required in a conversation stream: the id of the conversation the message belongs to',
      'text: required in a conversation stream: the message',
    ]);
    expect(issues(itemSchemaFor('conversation'), { ...valid.conversation, documentId: 'd' })).toEqual([
      'documentId: is taken by document streams only; this is a conversation stream',
    ]);
    expect(issues(itemSchemaFor('conversation'), { ...valid.conversation, values: { a: 1 } })).toEqual([
      'values: is taken by sensor streams only; this is a conversation stream',
    ]);
    for (const sequence of [-1, 1.5, 2 ** 31]) {
      expect(issues(itemSchemaFor('conversation'), { ...valid.conversation, sequence })).toHaveLength(1);
    }
    // The same rules as item ids.
    expect(issues(itemSchemaFor('conversation'), { ...valid.conversation, conversationId: '' })).toHaveLength(
      1,
    );
    expect(
      issues(itemSchemaFor('conversation'), { ...valid.conversation, conversationId: 'x'.repeat(257) }),
    ).toHaveLength(1);
    expect(
      issues(itemSchemaFor('conversation'), { ...valid.conversation, conversationId: 'a\u0000' }),
    ).toEqual([expect.stringMatching(/^conversationId: must not contain NUL/)]);
  });

  it('document items need documentId, sequence and text', () => {
    expect(issues(itemSchemaFor('document'), { id: 's', text: 'One.' })).toEqual([
      'documentId: required in a document stream: the id of the document the sentence belongs to',
      'sequence: required in a document stream: the sentence’s position in the document (an integer from 0)',
    ]);
    expect(issues(itemSchemaFor('document'), { ...valid.document, conversationId: 'c' })).toEqual([
      'conversationId: is taken by conversation streams only; this is a document stream',
    ]);
  });

  it('sensor items need timestamp and values of 1–64 finite numbers named like metadata keys', () => {
    expect(issues(itemSchemaFor('sensor'), { id: 'r' })).toEqual([
      'timestamp: required in a sensor stream: when the reading was taken (ISO 8601)',
      'values: required in a sensor stream: the reading, {"<channel>": <number>, …}',
    ]);
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, sequence: 0 })).toEqual([
      'sequence: is taken by conversation and document streams only; this is a sensor stream',
    ]);
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, values: {} })).toEqual([
      'values: must hold 1–64 channels',
    ]);
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, i]));
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, values: many })).toEqual([
      'values: must hold 1–64 channels',
    ]);
    // JSON's 1e999 parses to Infinity.
    expect(
      issues(itemSchemaFor('sensor'), JSON.parse(`{"id":"r","timestamp":"${at}","values":{"a":1e999}}`)),
    ).toEqual(['values.a: must be a finite number']);
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, values: { a: '1' } })).toEqual([
      'values.a: must be a finite number',
    ]);
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, values: { 'a b': 1 } })).toEqual([
      'values.a b: key "a b" is invalid: channel names are 1–64 letters, digits, "_" or "-"',
    ]);
    // Text stays optional but, when given, must hold something to embed.
    expect(issues(itemSchemaFor('sensor'), { ...valid.sensor, text: ' ' })).toHaveLength(1);
  });
});

describe('stream settings', () => {
  const create = (body: Record<string, unknown>) => issues(createStreamSchema, { name: 's', ...body });

  it('fills in the defaults of the stream’s kind', () => {
    expect(streamSettings('conversation', {})).toEqual({ contextWindow: 5, decay: 1 });
    expect(streamSettings('conversation', { decay: 0.5 })).toEqual({ contextWindow: 5, decay: 0.5 });
    expect(streamSettings('document', null)).toEqual({ temperature: 0.1 });
    expect(streamSettings('sensor', { timeZone: 'Europe/Lisbon' })).toEqual({ timeZone: 'Europe/Lisbon' });
    expect(streamSettings('text', {})).toEqual({});
    for (const kind of streamKinds) expect(streamSettings(kind, {})).toEqual(STREAM_SETTINGS_DEFAULTS[kind]);
    // The result is the caller's to change, not the defaults.
    streamSettings('conversation', {}).contextWindow = 9;
    expect(STREAM_SETTINGS_DEFAULTS.conversation.contextWindow).toBe(5);
    expect(() => streamSettings('conversation', { contextWindow: 0 })).toThrow(/contextWindow/);
  });

  it('takes settings nested or at the top level, and stores only those given', () => {
    expect(create({ kind: 'conversation', settings: { contextWindow: 8 }, decay: 0.8 })).toEqual([]);
    expect(
      requestedStreamSettings({ kind: 'conversation', settings: { contextWindow: 8 }, decay: 0.8 }),
    ).toEqual({
      contextWindow: 8,
      decay: 0.8,
    });
    expect(requestedStreamSettings({ kind: 'text' })).toEqual({});
    expect(create({ kind: 'document', temperature: 10 })).toEqual([]);
    expect(create({ kind: 'sensor', settings: { timeZone: 'America/Sao_Paulo' } })).toEqual([]);
    expect(create({ kind: 'conversation', decay: 0.5, settings: { decay: 0.5 } })).toEqual([
      'decay: is also given in settings.decay; give it once',
    ]);
  });

  it('refuses a setting of another kind, saying which kind takes it', () => {
    expect(create({ kind: 'text', contextWindow: 3, settings: { timeZone: 'UTC' } })).toEqual([
      'contextWindow: is a setting of conversation streams, not of text streams',
      'settings.timeZone: is a setting of sensor streams, not of text streams',
    ]);
    expect(create({ kind: 'conversation', temperature: 1 })).toEqual([
      'temperature: is a setting of document streams, not of conversation streams',
    ]);
    expect(create({ kind: 'document', settings: { decay: 1 } })).toEqual([
      'settings.decay: is a setting of conversation streams, not of document streams',
    ]);
    // timeZone is a string among numbers, so it goes in settings only.
    expect(create({ kind: 'sensor', timeZone: 'UTC' })).toEqual([expect.stringMatching(/timeZone/)]);
  });

  it('bounds each setting', () => {
    for (const contextWindow of [0, 101, 2.5])
      expect(create({ kind: 'conversation', contextWindow })).toHaveLength(1);
    for (const contextWindow of [1, 100]) expect(create({ kind: 'conversation', contextWindow })).toEqual([]);
    for (const decay of [0, -0.1, 1.01]) expect(create({ kind: 'conversation', decay })).toHaveLength(1);
    for (const temperature of [0, 10.5]) expect(create({ kind: 'document', temperature })).toHaveLength(1);
    expect(create({ kind: 'sensor', settings: { timeZone: 'Mars/Olympus_Mons' } })).toEqual([
      'settings.timeZone: must be an IANA time zone name such as "Europe/Lisbon" or "UTC"',
    ]);
    expect(create({ kind: 'sensor', settings: { unknown: 1 } })).toHaveLength(1);
  });

  it('isTimeZone: IANA names Intl knows, not offsets', () => {
    for (const name of ['UTC', 'Europe/Lisbon', 'America/Argentina/Buenos_Aires', 'Etc/GMT+3'])
      expect(isTimeZone(name)).toBe(true);
    for (const name of ['', 'Nowhere/City', '+01:00', 'Europe/Lisbon\u0000'])
      expect(isTimeZone(name)).toBe(false);
  });
});
