import { averageRanks, rocAuc } from './roc-auc';

describe('rocAuc', () => {
  it('is the share of (positive, negative) pairs ordered right (hand-computed)', () => {
    // sklearn's documented example: 3 of the 4 pairs are ordered right.
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([1, 2, 3], [0, 1, 1])).toBe(1);
    expect(rocAuc([3, 2, 1], [0, 1, 1])).toBe(0);
  });

  it('counts a tie between a positive and a negative as one half (Mann–Whitney)', () => {
    // Positives score 1 and 3, negatives 1 and 2: pairs 0.5 + 0 + 1 + 1 of 4.
    expect(rocAuc([1, 1, 2, 3], [0, 1, 0, 1])).toBe(0.625);
    expect(rocAuc([7, 7, 7, 7], [0, 1, 0, 1])).toBe(0.5);
  });

  it('refuses a single class', () => {
    expect(() => rocAuc([1, 2], [1, 1])).toThrow(RangeError);
  });
});

describe('averageRanks', () => {
  it('gives tied values their mean rank, as scipy.stats.rankdata', () => {
    expect(Array.from(averageRanks([10, 20, 10, 30, 20, 20]))).toEqual([1.5, 4, 1.5, 6, 4, 4]);
  });
});
