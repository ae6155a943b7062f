import { mean, overlapAt, percentile, sharedRankCorrelation } from './comparison';

describe('rollout comparison figures', () => {
  it('overlap@k is the share of the top k both answers hold', () => {
    expect(overlapAt(3, ['a', 'b', 'c', 'd'], ['c', 'x', 'a', 'b'])).toBeCloseTo(2 / 3, 12);
    expect(overlapAt(4, ['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a'])).toBe(1);
    expect(overlapAt(10, ['a', 'b'], ['c'])).toBe(0);
    // Cut to the longer answer when fewer than k exist.
    expect(overlapAt(10, ['a', 'b'], ['b'])).toBe(0.5);
    expect(overlapAt(10, [], [])).toBe(1);
  });

  it('rank correlation over the shared results: same order 1, reversed -1, hand-computed otherwise', () => {
    expect(sharedRankCorrelation(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(1);
    expect(sharedRankCorrelation(['a', 'b', 'c', 'd'], ['d', 'c', 'b', 'a'])).toBe(-1);
    // Shared a, b, c, d; ranks in b: b=0, a=1, c=2, d=3 → d² = 1 + 1 + 0 + 0 = 2 → 1 - 12/60 = 0.8.
    expect(sharedRankCorrelation(['a', 'b', 'c', 'd', 'x'], ['b', 'y', 'a', 'c', 'd'])).toBeCloseTo(0.8, 12);
    expect(sharedRankCorrelation(['a', 'b'], ['a', 'z'])).toBeNull();
  });

  it('percentiles by nearest rank, means of the numbers', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBe(0);
    expect(mean([1, null, 3])).toBe(2);
    expect(mean([null])).toBeNull();
  });
});
