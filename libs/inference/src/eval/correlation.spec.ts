import { averageRanks, cosineSimilarity, pearson, spearman } from './correlation';

describe('correlations (hand-computed values)', () => {
  it('pearson', () => {
    // x = 1..5, y = 2,4,5,4,5: sxy = 6, sxx = 10, syy = 6 → 6 / sqrt(60)
    expect(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it('average ranks share ties', () => {
    expect(averageRanks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('spearman', () => {
    // ranks x = 1..5, ranks y = 1,2.5,4.5,2.5,4.5 → sxy = 7, sxx = 10, syy = 9 → 7 / sqrt(90)
    expect(spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])).toBeCloseTo(7 / Math.sqrt(90), 12);
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
  });

  it('cosine similarity', () => {
    expect(cosineSimilarity([1, 0], [0, 1])).toBe(0);
    expect(cosineSimilarity([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosineSimilarity([3, 4], [4, 3])).toBeCloseTo(24 / 25, 12);
  });

  it('refuses mismatched samples', () => {
    expect(() => pearson([1, 2], [1])).toThrow();
  });
});
