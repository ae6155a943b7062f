// The statistics against values numpy and scipy computed on small fixed windows by Evidently's and
// alibi-detect's formulas (fixtures/make-reference-values.py writes fixtures/reference-values.json).
import { distanceDrift } from './distance-drift';
import { percentile, toMatrix } from './embedding-matrix';
import reference from './fixtures/reference-values.json';
import { fitLogisticRegression } from './logistic-regression';
import { mmdDrift } from './mmd-drift';
import { ratioDrift } from './ratio-drift';
import { rocAuc } from './roc-auc';
import { populationStd, wasserstein1d } from './wasserstein';

const { reference: ref, current: cur } = reference;
const columnOf = (rows: number[][], j: number) => rows.map((row) => row[j]!);

describe('against numpy / scipy reference values', () => {
  it('Wasserstein-1 per column equals scipy.stats.wasserstein_distance, the std np.std', () => {
    reference.ratio.wasserstein.forEach((expected, j) =>
      expect(wasserstein1d(columnOf(ref, j), columnOf(cur, j))).toBeCloseTo(expected, 13),
    );
    reference.ratio.referenceStd.forEach((expected, j) =>
      expect(populationStd(columnOf(ref, j))).toBeCloseTo(expected, 13),
    );
  });

  it('ratio: the share of components whose normed distance is ≥ 0.1', () => {
    const result = ratioDrift(ref, cur);
    expect(result.value).toBe(reference.ratio.share);
    expect(result.drifted).toBe(reference.ratio.share > 0.2);
    // A component threshold between two normed distances splits the columns there.
    const normed = [...reference.ratio.normed].sort((a, b) => a - b);
    const between = (normed[1]! + normed[2]!) / 2;
    expect(ratioDrift(ref, cur, { componentThreshold: between }).driftedComponents).toBe(3);
  });

  it('distance: scipy euclidean and cosine between the means', () => {
    expect(distanceDrift(ref, cur).value).toBeCloseTo(reference.distance.euclidean, 13);
    expect(distanceDrift(ref, cur, { metric: 'cosine' }).value).toBeCloseTo(reference.distance.cosine, 13);
  });

  it('mmd: Evidently MMD2u with its median heuristic, and with a fixed σ', () => {
    const median = mmdDrift(ref, cur, { seed: 0, permutations: 0 });
    expect(median.sigma).toBeCloseTo(reference.mmd.medianDistance / Math.SQRT2, 12);
    expect(median.value).toBeCloseTo(reference.mmd.mmd2uMedian, 12);
    const fixed = mmdDrift(ref, cur, { seed: 0, permutations: 0, sigma: reference.mmd.fixedSigma });
    expect(fixed.value).toBeCloseTo(reference.mmd.mmd2uFixedSigma, 12);
  });

  it('ROC AUC with ties equals the Mann–Whitney U over n₁n₀', () => {
    expect(rocAuc(reference.rocAuc.scores, reference.rocAuc.labels)).toBeCloseTo(reference.rocAuc.auc, 15);
  });

  it('logistic regression reaches the optimum scipy L-BFGS-B finds for the same objective', () => {
    const x = toMatrix([...ref, ...cur], 'train', 5);
    const labels = Uint8Array.from([...ref.map(() => 0), ...cur.map(() => 1)]);
    for (const expected of reference.logisticRegression) {
      const fit = fitLogisticRegression(x, labels, {
        l2: expected.alpha,
        maxIterations: 1000,
        gradientTolerance: 1e-10,
        objectiveTolerance: 0,
      });
      expect(fit.converged).toBe(true);
      expect(fit.objective).toBeCloseTo(expected.objective, 12);
      expected.weights.forEach((w, j) => expect(fit.weights[j]).toBeCloseTo(w, 6));
      expect(fit.intercept).toBeCloseTo(expected.intercept, 6);
    }
  });

  it('percentiles interpolate linearly, as np.percentile', () => {
    expect(percentile(reference.percentile.values, 95)).toBeCloseTo(reference.percentile.p95, 15);
    expect(percentile(reference.percentile.values, 5)).toBeCloseTo(reference.percentile.p5, 15);
  });
});
