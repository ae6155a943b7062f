import {
  callerKey,
  fromQdrantPayload,
  payloadIndexType,
  qdrantFilter,
  qdrantKey,
  toQdrantPayload,
} from './qdrant-payload';

describe('Qdrant payload keys', () => {
  it('keeps plain keys and encodes keys Qdrant would read as paths or could mistake for ours', () => {
    expect(qdrantKey('m_lang')).toBe('m_lang');
    expect(qdrantKey('a.b')).toBe('_x612e62');
    for (const key of ['a.b', 'tags[]', 'with space', '_id', '_x61', 'é', '"q"']) {
      expect(qdrantKey(key)).toMatch(/^_x[0-9a-f]+$/);
      expect(callerKey(qdrantKey(key))).toBe(key);
    }
  });

  it('round-trips a payload with the id kept apart', () => {
    const payload = { _id: 'caller field', 'a.b': 1, plain: null, _text: 'hello' };
    const stored = toQdrantPayload('item-1', payload);
    expect(stored['_id']).toBe('item-1');
    expect(fromQdrantPayload('4f0c…', stored)).toEqual({ id: 'item-1', payload });
  });
});

describe('Qdrant filters', () => {
  it('has no filter for no conditions', () => {
    expect(qdrantFilter([])).toBeUndefined();
  });

  it('matches strings and booleans, ranges numbers exactly, and tests null with is_null', () => {
    expect(
      qdrantFilter([
        ['colour', 'red'],
        ['flag', false],
        ['weight', 0.5],
        ['note', null],
        ['a.b', 'x'],
      ]),
    ).toEqual({
      must: [
        { key: 'colour', match: { value: 'red' } },
        { key: 'flag', match: { value: false } },
        { key: 'weight', range: { gte: 0.5, lte: 0.5 } },
        { is_null: { key: 'note' } },
        { key: '_x612e62', match: { value: 'x' } },
      ],
    });
  });

  it('indexes filtered keys by the type filtered on', () => {
    expect([
      payloadIndexType('x'),
      payloadIndexType(true),
      payloadIndexType(2),
      payloadIndexType(null),
    ]).toEqual(['keyword', 'bool', 'float', undefined]);
  });
});
