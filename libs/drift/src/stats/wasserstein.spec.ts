import { ratioDrift } from './ratio-drift';
import { populationStd, wasserstein1d } from './wasserstein';

describe('wasserstein1d', () => {
  it('is the area between the two step CDFs (hand-computed)', () => {
    // Disjoint samples of one size: every quantile moves by 5.
    expect(wasserstein1d([0, 1, 3], [5, 6, 8])).toBe(5);
    // Sizes 3 and 2 with a tie at 0: |2/3 − 1/2| on [0, 1) plus |1 − 1/2| on [1, 2) = 1/6 + 1/2.
    expect(wasserstein1d([0, 0, 1], [2, 0])).toBeCloseTo(2 / 3, 15);
    expect(wasserstein1d([2, 0], [0, 0, 1])).toBeCloseTo(2 / 3, 15);
  });

  it('is 0 for the same sample, whatever the order and multiplicity', () => {
    expect(wasserstein1d([3, 1, 2], [1, 2, 3])).toBe(0);
    expect(wasserstein1d([1, 2], [2, 1, 1, 2])).toBe(0);
  });

  it('moves with a shift of one sample by exactly the shift', () => {
    const u = [0.3, -1.2, 4, 2.5, 0.7];
    expect(
      wasserstein1d(
        u,
        u.map((x) => x + 0.25),
      ),
    ).toBeCloseTo(0.25, 14);
  });

  it('refuses an empty sample', () => {
    expect(() => wasserstein1d([], [1])).toThrow(RangeError);
  });
});

describe('ratioDrift', () => {
  it('counts a component as drifted when its normed distance reaches the threshold (≥, as Evidently)', () => {
    // Column 0: W1([0, 2], [1, 3]) = 1 over std 1, exactly the threshold; column 1 does not move.
    const reference = [
      [0, 5],
      [2, 6],
    ];
    const current = [
      [1, 5],
      [3, 6],
    ];
    const result = ratioDrift(reference, current, { componentThreshold: 1 });
    expect(result).toMatchObject({ value: 0.5, driftedComponents: 1, components: 2, drifted: true });
    // The share must be above the report threshold, not equal to it.
    expect(ratioDrift(reference, current, { componentThreshold: 1, threshold: 0.5 }).drifted).toBe(false);
    // A component whose reference is constant is normed by 0.001 (0.0003 / 0.001 = 0.3), not divided by 0.
    const constant = (componentThreshold: number) =>
      ratioDrift([[1], [1]], [[1.0003], [1.0003]], { componentThreshold }).driftedComponents;
    expect([constant(0.2), constant(0.5)]).toEqual([1, 0]);
  });
});

describe('populationStd', () => {
  it('divides by n, as np.std does', () => {
    expect(populationStd([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(1.25), 15);
    expect(populationStd([5])).toBe(0);
  });
});
