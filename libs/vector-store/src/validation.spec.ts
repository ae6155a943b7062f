import { VectorPoint, VectorStoreError } from './vector-store';
import {
  assertCollectionKey,
  assertPayload,
  assertQuery,
  assertVector,
  latestPointPerId,
  matchesFilter,
  promised,
  uniqueIds,
} from './validation';

const point = (id: string, x: number, payload = {}): VectorPoint => ({
  id,
  vector: Float32Array.of(x, 1),
  payload,
});

describe('collection keys', () => {
  it.each(['t-2f1c--tweets--use-lite-1', 'a', '0', `a${'_'.repeat(200)}`])('accepts %s', (key) => {
    expect(() => assertCollectionKey(key)).not.toThrow();
  });

  it.each(['', 'A', '-a', '_a', 'a.b', 'a/b', 'a b', `a${'b'.repeat(201)}`, '../etc'])(
    'refuses %j',
    (key) => {
      expect(() => assertCollectionKey(key)).toThrow(VectorStoreError);
    },
  );
});

describe('points', () => {
  it('keeps the last point per id, in the order of last occurrence', () => {
    const latest = latestPointPerId([point('a', 1), point('b', 2), point('a', 3)], 2);
    expect(latest.map((p) => [p.id, p.vector[0]])).toEqual([
      ['b', 2],
      ['a', 3],
    ]);
  });

  it('refuses the whole batch if one point is malformed', () => {
    expect(() =>
      latestPointPerId([point('a', 1), { ...point('b', 2), vector: Float32Array.of(1) }], 2),
    ).toThrow(/Point "b": the vector has 1 dimensions, the collection 2/);
  });

  it('refuses non-finite and all-zero vectors and plain arrays', () => {
    expect(() => assertVector(Float32Array.of(0, 0), 2, 'q')).toThrow(/all zeros/);
    expect(() => assertVector(Float32Array.of(Number.NaN, 1), 2, 'q')).toThrow(/non-finite/);
    expect(() => assertVector([1, 2] as unknown as Float32Array, 2, 'q')).toThrow(/Float32Array/);
  });

  it('accepts flat payloads of strings, finite numbers, booleans and null only, under any sane key', () => {
    expect(() =>
      assertPayload({ a: 'x', b: 1.5, c: false, d: null, 'a.b[0] c': 0, _id: 'own' }, 'p'),
    ).not.toThrow();
    for (const bad of [
      { a: [] },
      { a: {} },
      { a: undefined },
      { a: Number.NaN },
      { a: 'nul\u0000' },
      { '': 1 },
      { ['k'.repeat(257)]: 1 },
    ]) {
      expect(() => assertPayload(bad as never, 'p')).toThrow(VectorStoreError);
    }
    expect(() => assertPayload([] as never, 'p')).toThrow(/must be an object/);
  });

  it('deduplicates ids to delete', () => {
    expect(uniqueIds(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(() => uniqueIds(['x'.repeat(257)])).toThrow(VectorStoreError);
  });
});

describe('queries and filters', () => {
  it('requires a positive integer k', () => {
    for (const k of [0, -1, 1.5, Number.NaN]) {
      expect(() => assertQuery({ vector: Float32Array.of(1, 0), k }, 2)).toThrow(/Invalid k/);
    }
    expect(assertQuery({ vector: Float32Array.of(1, 0), k: 3, filter: { a: 1 } }, 2)).toEqual([['a', 1]]);
  });

  it('matches exactly: same type, same value, key present', () => {
    const payload = { n: 2, s: '2', b: true, z: null };
    expect(matchesFilter(payload, [['n', 2]])).toBe(true);
    expect(matchesFilter(payload, [['n', '2']])).toBe(false);
    expect(matchesFilter(payload, [['s', 2]])).toBe(false);
    expect(matchesFilter(payload, [['b', 'true']])).toBe(false);
    expect(matchesFilter(payload, [['z', null]])).toBe(true);
    expect(matchesFilter(payload, [['missing', null]])).toBe(false);
    expect(
      matchesFilter(payload, [
        ['n', 2],
        ['b', false],
      ]),
    ).toBe(false);
    expect(matchesFilter(payload, [])).toBe(true);
  });
});

it('turns a synchronous throw into a rejection', async () => {
  const pending = promised(() => {
    throw new VectorStoreError('no');
  });
  await expect(pending).rejects.toThrow('no');
});
