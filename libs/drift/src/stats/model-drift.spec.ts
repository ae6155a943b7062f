import { modelDrift } from './model-drift';
import { SeededRandom } from './seeded-random';
import { syntheticWindow, unitCenters } from './testing/synthetic-windows';

describe('modelDrift', () => {
  const random = new SeededRandom(11);
  const centers = unitCenters(random, 2, 32);
  const window = (rows: number, proportions: number[]) =>
    syntheticWindow(random, { rows, centers, proportions });

  it('separates windows around different centres almost perfectly (AUC ≈ 1, fixed 0.55)', () => {
    const result = modelDrift(window(1200, [1, 0]), window(300, [0, 1]), { seed: 1 });
    expect(result.bootstrap).toBe(false);
    expect(result.threshold).toBe(0.55);
    expect(result.value).toBeGreaterThan(0.99);
    expect(result.drifted).toBe(true);
    // Stratified halves: ⌊1200/2⌋ + ⌊300/2⌋ rows to train, the rest held out.
    expect(result.trainRows).toBe(750);
    expect(result.testRows).toBe(750);
  });

  it('bootstraps below 1,000 reference rows, reporting the 95th null percentile as the threshold', () => {
    const reference = window(400, [0.5, 0.5]);
    const current = window(400, [0.5, 0.5]);
    const result = modelDrift(reference, current, { seed: 2 });
    expect(result.bootstrap).toBe(true);
    // The null AUCs of 200 vs 200 held-out rows have a standard deviation of about 0.029.
    expect(result.threshold).toBeGreaterThan(0.52);
    expect(result.threshold).toBeLessThan(0.6);
    expect(result.drifted).toBe(result.value > result.threshold);
    expect(modelDrift(reference, current, { seed: 2, bootstrap: false }).threshold).toBe(0.55);
  });

  it('is the same for the same seed and moves with another', () => {
    const reference = window(300, [0.6, 0.4]);
    const current = window(300, [0.4, 0.6]);
    const first = modelDrift(reference, current, { seed: 3 });
    expect(modelDrift(reference, current, { seed: 3 })).toEqual(first);
    expect(modelDrift(reference, current, { seed: 4 }).value).not.toBe(first.value);
  });
});
