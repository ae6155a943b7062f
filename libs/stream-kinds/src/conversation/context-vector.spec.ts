import { TestRandom, maxAbsDifference } from '../testing/seeded-vectors';
import { StreamKindInputError } from '../vectors';
import { affectedPositions, contextVector, contextVectors } from './context-vector';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('contextVector', () => {
  it('is the decayed, normalised sum with the newest message weighted 1 (hand-computed)', () => {
    // decay 0.5 over [a, b, c] = [(1,0), (0,1), (1,0)], newest last:
    // c + 0.5·b + 0.25·a = (1.25, 0.5); its norm is √(1.5625 + 0.25) = √1.8125.
    const vector = contextVector([v(1, 0), v(0, 1), v(1, 0)], 0.5);
    expect(vector[0]).toBeCloseTo(1.25 / Math.sqrt(1.8125), 6);
    expect(vector[1]).toBeCloseTo(0.5 / Math.sqrt(1.8125), 6);
  });

  it('is the mean direction at decay 1', () => {
    // (3,0) + (0,4) = (3,4) → (0.6, 0.8), whatever the lengths of the messages.
    expect(Array.from(contextVector([v(3, 0), v(0, 4)], 1))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
  });

  it('is the message itself for a window of one', () => {
    expect(Array.from(contextVector([v(0, 2, 0)], 0.7))).toEqual([0, 1, 0]);
  });

  it('refuses what has no context direction', () => {
    expect(() => contextVector([], 1)).toThrow(StreamKindInputError);
    expect(() => contextVector([v(1, 0), v(1, 0, 0)], 1)).toThrow(/window\[1\] has 3 dimensions/);
    for (const decay of [0, -0.5, 1.5, Number.NaN])
      expect(() => contextVector([v(1, 0)], decay)).toThrow(/decay must be in \(0, 1\]/);
    expect(() => contextVector([v(1, 0), v(-1, 0)], 1)).toThrow(/zero vector/);
  });
});

describe('contextVectors', () => {
  const random = new TestRandom(7);
  const messages = Array.from({ length: 12 }, () => random.unitVector(8));

  it.each([1, 0.6])('gives every position the vector of its own window (decay %p)', (decay) => {
    const vectors = contextVectors(messages, 5, decay);
    expect(vectors).toHaveLength(12);
    vectors.forEach((vector, n) =>
      expect(vector).toEqual(contextVector(messages.slice(Math.max(0, n - 4), n + 1), decay)),
    );
  });

  it('gives the same bits for a range as a full recompute', () => {
    const all = contextVectors(messages, 5, 0.8);
    expect(contextVectors(messages, 5, 0.8, 6, 9)).toEqual(all.slice(6, 10));
    expect(contextVectors(messages, 5, 0.8, 10)).toEqual(all.slice(10));
    expect(contextVectors(messages, 5, 0.8, 12)).toEqual([]);
  });

  it('refuses positions outside the conversation and a bad window', () => {
    expect(() => contextVectors(messages, 5, 1, 0, 12)).toThrow(StreamKindInputError);
    expect(() => contextVectors(messages, 5, 1, -1)).toThrow(StreamKindInputError);
    expect(() => contextVectors(messages, 0, 1)).toThrow(/window must be/);
    expect(contextVectors([], 5, 1)).toEqual([]);
  });
});

describe('affectedPositions', () => {
  it('covers the inserted message and the window − 1 after it, clipped to the end', () => {
    expect(affectedPositions(3, 5, 20)).toEqual({ from: 3, to: 7 });
    expect(affectedPositions(17, 5, 20)).toEqual({ from: 17, to: 19 });
    expect(affectedPositions(0, 1, 1)).toEqual({ from: 0, to: 0 });
    expect(affectedPositions(4, 5, 20, 'update')).toEqual({ from: 4, to: 8 });
  });

  it('covers one position fewer after a delete, and none after deleting the last message', () => {
    expect(affectedPositions(3, 5, 19, 'delete')).toEqual({ from: 3, to: 6 });
    const none = affectedPositions(19, 5, 19, 'delete');
    expect(none.to).toBeLessThan(none.from);
  });

  it.each(['insert', 'update', 'delete'] as const)(
    'names exactly the positions whose vectors differ from before the %s',
    (change) => {
      const random = new TestRandom(11);
      const before = Array.from({ length: 15 }, () => random.unitVector(4));
      const other = random.unitVector(4);
      for (let position = 0; position < before.length; position++) {
        const after = before.slice();
        if (change === 'insert') after.splice(position, 0, other);
        if (change === 'update') after[position] = other;
        if (change === 'delete') after.splice(position, 1);
        const old = contextVectors(before, 4, 0.9);
        const now = contextVectors(after, 4, 0.9);
        // Where each position of `after` stood before the change (-1: the inserted message).
        const origin = (n: number): number => {
          if (n < position || change === 'update') return n;
          if (change === 'delete') return n + 1;
          return n === position ? -1 : n - 1;
        };
        const changed = now.flatMap((vector, n) => {
          const was = old[origin(n)];
          return was !== undefined && maxAbsDifference(vector, was) === 0 ? [] : [n];
        });
        const { from, to } = affectedPositions(position, 4, after.length, change);
        expect(changed).toEqual(Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i));
      }
    },
  );
});
