import { distanceDrift } from './distance-drift';

describe('distanceDrift', () => {
  // Means (1, 0) and (1, 2).
  const reference = [
    [0, 0],
    [2, 0],
  ];
  const current = [
    [1, 1],
    [1, 3],
  ];

  it('is the euclidean distance between the means, drift above 0.2 (hand-computed)', () => {
    expect(distanceDrift(reference, current)).toEqual({
      method: 'distance',
      value: 2,
      threshold: 0.2,
      drifted: true,
      metric: 'euclidean',
      bootstrap: false,
    });
    expect(distanceDrift(reference, [[1.1, 0.1]]).value).toBeCloseTo(Math.sqrt(0.02), 15);
    expect(distanceDrift(reference, [[1.1, 0.1]]).drifted).toBe(false);
  });

  it('optionally is the cosine distance 1 − cos between the means', () => {
    // cos((1, 0), (1, 2)) = 1 / √5.
    const result = distanceDrift(reference, current, { metric: 'cosine' });
    expect(result.value).toBeCloseTo(1 - 1 / Math.sqrt(5), 15);
    expect(result.drifted).toBe(true);
    // Parallel means are at cosine distance 0 however far apart.
    expect(distanceDrift([[1, 1]], [[5, 5]], { metric: 'cosine' }).value).toBeCloseTo(0, 15);
  });

  it('with bootstrap, compares with the 95th percentile of resampled reference distances', () => {
    const rows = Array.from({ length: 200 }, (_, i) => [Math.sin(i), Math.cos(3 * i)]);
    const same = distanceDrift(rows, rows, { bootstrap: true, seed: 1 });
    expect(same.value).toBe(0);
    expect(same.threshold).toBeGreaterThan(0);
    expect(same.drifted).toBe(false);
    const shifted = distanceDrift(
      rows,
      rows.map(([a, b]) => [a! + 0.3, b!]),
      { bootstrap: true, seed: 1 },
    );
    expect(shifted.value).toBeCloseTo(0.3, 12);
    expect(shifted.threshold).toBe(same.threshold);
    expect(shifted.drifted).toBe(true);
    expect(distanceDrift(rows, rows, { bootstrap: true, seed: 2 }).threshold).not.toBe(same.threshold);
  });
});
