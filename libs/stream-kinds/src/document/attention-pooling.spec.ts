import { TestRandom, maxAbsDifference } from '../testing/seeded-vectors';
import { StreamKindInputError } from '../vectors';
import { DocumentPool, type DocumentPoolState, attentionPool, attentionWeights } from './attention-pooling';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('attentionPool', () => {
  it('weights sentences by softmax against the gist (hand-computed, 2-D)', () => {
    // e = (1,0), (1,0), (0,1): Σe = (2,1), m = (2,1)/√5, so e·m = 2/√5, 2/√5, 1/√5.
    // With τ = 1/(√5·ln 2) the scores are 2·ln 2, 2·ln 2, ln 2 → exp ∝ 4, 4, 2 → weights 2/5, 2/5, 1/5.
    // Pooled: 2/5·(1,0)·2 + 1/5·(0,1) = (4/5, 1/5) → (4, 1)/√17.
    const sentences = [v(1, 0), v(1, 0), v(0, 1)];
    const temperature = 1 / (Math.sqrt(5) * Math.LN2);
    const weights = attentionWeights(sentences, temperature);
    [0.4, 0.4, 0.2].forEach((expected, i) => expect(weights[i]).toBeCloseTo(expected, 12));
    const pooled = attentionPool(sentences, temperature);
    expect(pooled[0]).toBeCloseTo(4 / Math.sqrt(17), 6);
    expect(pooled[1]).toBeCloseTo(1 / Math.sqrt(17), 6);
  });

  it('weights sentences by softmax against the gist (hand-computed, 3-D)', () => {
    // e = x, x, y, z: Σe = (2,1,1), m = (2,1,1)/√6, e·m = 2/√6 for x and 1/√6 for y and z.
    // With τ = 1/(√6·ln 3) the scores are 2·ln 3 and ln 3 → exp ∝ 9, 9, 3, 3 → weights 3/8, 3/8, 1/8, 1/8.
    // Pooled: (6/8, 1/8, 1/8) → (6, 1, 1)/√38.
    const sentences = [v(1, 0, 0), v(1, 0, 0), v(0, 1, 0), v(0, 0, 1)];
    const temperature = 1 / (Math.sqrt(6) * Math.log(3));
    const weights = attentionWeights(sentences, temperature);
    [3 / 8, 3 / 8, 1 / 8, 1 / 8].forEach((expected, i) => expect(weights[i]).toBeCloseTo(expected, 12));
    const pooled = attentionPool(sentences, temperature);
    [6, 1, 1].forEach((x, i) => expect(pooled[i]).toBeCloseTo(x / Math.sqrt(38), 6));
  });

  it('is the normalised sentence for a one-sentence document, whatever the temperature', () => {
    for (const temperature of [0.01, 1, 100])
      expect(Array.from(attentionPool([v(0, 3, 4)], temperature))).toEqual([0, 0.6, 0.8].map(Math.fround));
  });

  it('gives the sentences near the gist more weight than an aside, more so when colder', () => {
    const random = new TestRandom(3);
    const gist = random.unitVector(32);
    const onTopic = Array.from({ length: 5 }, () => {
      const noise = random.unitVector(32);
      return Float32Array.from(gist, (x, i) => x + 0.3 * noise[i]!);
    });
    const aside = random.unitVector(32);
    const sentences = [...onTopic, aside];
    const warm = attentionWeights(sentences, 1);
    const cold = attentionWeights(sentences, 0.1);
    for (let i = 0; i < onTopic.length; i++) {
      expect(warm[i]).toBeGreaterThan(warm[5]!);
      expect(cold[i]).toBeGreaterThan(cold[5]!);
    }
    expect(warm[5]).toBeLessThan(1 / 6);
    expect(cold[5]).toBeLessThan(warm[5]!);
    expect(warm.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('stays finite where a naive softmax would overflow', () => {
    // Scores of 1/τ = 1e4: exp(1e4) is Infinity, exp(score − max) is not.
    const weights = attentionWeights([v(1, 0), v(1, 0), v(0, 1)], 1e-4);
    expect(Array.from(weights).every(Number.isFinite)).toBe(true);
    expect(weights[2]).toBeCloseTo(0, 12);
  });

  it('refuses what it cannot pool', () => {
    expect(() => attentionPool([], 1)).toThrow(StreamKindInputError);
    expect(() => attentionPool([v(1, 0), v(1)], 1)).toThrow(/sentences\[1\] has 1 dimensions/);
    for (const temperature of [0, -1, Number.NaN, Infinity])
      expect(() => attentionPool([v(1, 0)], temperature)).toThrow(/temperature must be/);
    expect(() => attentionPool([v(1, 0), v(-1, 0)], 1)).toThrow(/gist\) is the zero vector/);
  });
});

describe('DocumentPool', () => {
  const temperature = 0.1;
  const random = new TestRandom(42);
  const sentences = Array.from({ length: 20 }, () => random.unitVector(16));
  const orders = Array.from({ length: 5 }, () => random.shuffled(sentences));

  it.each(orders.map((order, i) => [i, order] as const))(
    'matches attentionPool from scratch at every step of adding in shuffled order %i',
    (_, order) => {
      let pool = new DocumentPool(16);
      order.forEach((sentence, i) => {
        pool.add(sentence);
        const added = order.slice(0, i + 1);
        expect(
          maxAbsDifference(pool.vector(added, temperature), attentionPool(added, temperature)),
        ).toBeLessThan(1e-5);
        // Persisted and loaded half-way, as a caller that keeps the state between edits would.
        if (i === 9) pool = DocumentPool.fromJSON(JSON.parse(JSON.stringify(pool)) as DocumentPoolState);
      });
      expect(
        maxAbsDifference(pool.vector(order, temperature), attentionPool(sentences, temperature)),
      ).toBeLessThan(1e-5);
    },
  );

  it('matches attentionPool from scratch as sentences are removed', () => {
    const pool = new DocumentPool(16);
    sentences.forEach((sentence) => pool.add(sentence));
    const left = sentences.slice();
    for (const sentence of orders[0]!.slice(0, -1)) {
      pool.remove(sentence);
      left.splice(left.indexOf(sentence), 1);
      expect(maxAbsDifference(pool.vector(left, temperature), attentionPool(left, temperature))).toBeLessThan(
        1e-5,
      );
    }
    pool.remove(orders[0]![19]!);
    expect(pool.toJSON()).toEqual({ dimensions: 16, count: 0, sum: new Array<number>(16).fill(0) });
  });

  it('refuses sentences that do not match what it holds', () => {
    const pool = new DocumentPool(2);
    expect(() => pool.remove(v(1, 0))).toThrow(/empty document/);
    expect(() => pool.add(v(1, 0, 0))).toThrow(/3 dimensions, expected 2/);
    pool.add(v(1, 0));
    expect(() => pool.vector([v(1, 0), v(0, 1)], 1)).toThrow(/2 sentence vectors given for a document of 1/);
    expect(() => DocumentPool.fromJSON({ dimensions: 2, count: 1, sum: [1] })).toThrow(StreamKindInputError);
    expect(() => DocumentPool.fromJSON({ dimensions: 2, count: -1, sum: [1, 0] })).toThrow(
      StreamKindInputError,
    );
  });
});
