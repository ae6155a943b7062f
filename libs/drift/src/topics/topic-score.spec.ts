import { emergenceScore, logGamma, poissonUpperTail } from './topic-score';

// Reference values: hand-computed where short, else scipy.stats.poisson.sf(count − 1, mean) and
// math.lgamma (Python 3.11, SciPy 1.x).
describe('emergenceScore', () => {
  it('is the Poisson z-score (count − baseline) / √baseline (golden values)', () => {
    expect(emergenceScore(30, 1)).toBe(29); // a new topic against the floor of 1
    expect(emergenceScore(6, 1)).toBe(5);
    expect(emergenceScore(10, 2)).toBeCloseTo(8 / Math.SQRT2, 12); // 5.656854
    expect(emergenceScore(20, 10)).toBeCloseTo(3.16227766, 8);
    expect(emergenceScore(10, 10)).toBe(0);
    expect(emergenceScore(4, 16)).toBe(-3);
  });

  it('refuses a baseline that was not floored above 0', () => {
    expect(() => emergenceScore(3, 0)).toThrow(RangeError);
  });
});

describe('poissonUpperTail', () => {
  it('is P(X ≥ count) for X ~ Poisson(mean) (golden values)', () => {
    // 1 − e⁻¹ (1 + 1 + 1/2 + 1/6 + 1/24) = 1 − 65 / (24e)
    expect(poissonUpperTail(5, 1)).toBeCloseTo(1 - 65 / (24 * Math.E), 14);
    expect(poissonUpperTail(5, 1)).toBeCloseTo(0.0036598468273437, 14);
    expect(poissonUpperTail(6, 1)).toBeCloseTo(0.000594184817581693, 15);
    expect(poissonUpperTail(10, 2)).toBeCloseTo(4.649807501726386e-5, 16);
    expect(poissonUpperTail(20, 10)).toBeCloseTo(0.0034543419758568334, 14);
    expect(poissonUpperTail(10, 10)).toBeCloseTo(0.5420702855281478, 12);
    expect(poissonUpperTail(3, 10)).toBeCloseTo(0.9972306042844884, 12);
  });

  it('keeps the digits of tiny p-values (summed from the upper tail)', () => {
    expect(poissonUpperTail(30, 1) / 1.4330814167223303e-33).toBeCloseTo(1, 10);
    expect(poissonUpperTail(100, 50) / 3.2000653245851495e-10).toBeCloseTo(1, 10);
  });

  it('is 1 for no items and 0 for items against a mean of 0', () => {
    expect(poissonUpperTail(0, 3)).toBe(1);
    expect(poissonUpperTail(5, 0)).toBe(0);
    expect(poissonUpperTail(1, 2)).toBeCloseTo(1 - Math.exp(-2), 15);
  });
});

describe('logGamma', () => {
  it('matches ln((n − 1)!) and ln √π (golden values)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(2)).toBeCloseTo(0, 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5723649429247004, 13);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(100)).toBeCloseTo(359.1342053695754, 10);
  });
});
