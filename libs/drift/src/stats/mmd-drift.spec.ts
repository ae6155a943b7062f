import { SeededRandom } from './seeded-random';
import { mmdDrift } from './mmd-drift';
import { syntheticWindow, unitCenters } from './testing/synthetic-windows';

describe('mmdDrift', () => {
  it('is the unbiased MMD² with a fixed σ on 2 × 2 points (hand-computed)', () => {
    // With 2σ² = 1, k = exp(−d²). Within each window the two points are at distance 1: e^−1 each;
    // across, two pairs at distance 1 and two at √2: mean (e^−1 + e^−2) / 2, counted twice.
    const result = mmdDrift(
      [
        [0, 0],
        [1, 0],
      ],
      [
        [0, 1],
        [1, 1],
      ],
      { seed: 0, sigma: Math.SQRT1_2, permutations: 0 },
    );
    expect(result.value).toBeCloseTo(Math.exp(-1) - Math.exp(-2), 15);
    expect(result.pValue).toBeUndefined();
    expect(result.drifted).toBe(true);
  });

  it('reports max(MMD²ᵤ, 0) but compares the estimate itself', () => {
    // Identical windows: MMD²ᵤ = k̄_within·2 − 2 k̄_across < 0, since the across-mean includes the k(x, x) = 1 pairs.
    const rows = [
      [0, 0],
      [1, 0],
      [0, 2],
    ];
    const result = mmdDrift(rows, rows, { seed: 0, sigma: 1, permutations: 0 });
    expect(result.value).toBe(0);
    expect(result.drifted).toBe(false);
  });

  it('caps each window at maxRows rows by a seeded sample and says so', () => {
    const random = new SeededRandom(5);
    const centers = unitCenters(random, 3, 16);
    const reference = syntheticWindow(random, { rows: 1500, centers, proportions: [0.4, 0.3, 0.3] });
    const current = syntheticWindow(random, { rows: 300, centers, proportions: [0.4, 0.3, 0.3] });
    const result = mmdDrift(reference, current, { seed: 9, permutations: 20 });
    expect(result.rowsUsed).toEqual({ reference: 1000, current: 300 });
    expect(mmdDrift(reference, current, { seed: 9, permutations: 20 })).toEqual(result);
    expect(mmdDrift(reference, current, { seed: 9, maxRows: 200, permutations: 0 }).rowsUsed).toEqual({
      reference: 200,
      current: 200,
    });
  });

  it('gives a permutation p-value counting the observed labelling: (1 + #{≥}) / (1 + permutations)', () => {
    const random = new SeededRandom(6);
    const centers = unitCenters(random, 2, 8);
    const far = mmdDrift(
      syntheticWindow(random, { rows: 60, centers, proportions: [1, 0] }),
      syntheticWindow(random, { rows: 60, centers, proportions: [0, 1] }),
      { seed: 1, permutations: 99 },
    );
    expect(far.pValue).toBe(1 / 100);
    expect(far.drifted).toBe(true);
  });
});
