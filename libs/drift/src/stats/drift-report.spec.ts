import type { DriftMethodName } from './drift-result';
import { driftReport, type DriftReportResult } from './drift-report';
import { DriftInputError } from './embedding-matrix';
import { SeededRandom } from './seeded-random';
import { syntheticWindow, unitCenters, type WindowSpec } from './testing/synthetic-windows';

const DIMENSIONS = 64;
const PROPORTIONS = [0.4, 0.3, 0.2, 0.1];

/** Two windows of a synthetic stream of unit embeddings around 4 topics (see syntheticWindow). */
function windows(seed: number, reference: Partial<WindowSpec>, current: Partial<WindowSpec>) {
  const random = new SeededRandom(seed, 99);
  const centers = unitCenters(random, 4, DIMENSIONS);
  const base = { rows: 500, centers, proportions: PROPORTIONS };
  return {
    reference: syntheticWindow(random, { ...base, ...reference }),
    current: syntheticWindow(random, { ...base, ...current }),
  };
}

function sufficient(report: ReturnType<typeof driftReport>): DriftReportResult {
  if (report.insufficient) throw new Error(report.reason);
  return report;
}

describe('driftReport', () => {
  it('answers insufficient, without statistics, when a window has fewer than minRows rows', () => {
    const { reference, current } = windows(1, { rows: 150 }, { rows: 99 });
    expect(driftReport(reference, current, { seed: 1 })).toEqual({
      insufficient: true,
      reason: 'the current window has 99 rows, fewer than the 100 a drift report needs',
      rows: { given: { reference: 150, current: 99 } },
      minRows: 100,
    });
    expect(driftReport(reference, current, { seed: 1, minRows: 200 }).insufficient).toBe(true);
    expect(
      driftReport(reference, current, { seed: 1, minRows: 50, methods: ['distance'] }).insufficient,
    ).toBe(false);
  });

  it('throws DriftInputError for mixed dimensions, non-finite values and a verdict method not run', () => {
    const { reference, current } = windows(2, { rows: 120 }, { rows: 120 });
    expect(() => driftReport(reference, [...current.slice(1), new Float32Array(3)], { seed: 1 })).toThrow(
      DriftInputError,
    );
    const broken = current.map((row) => row.slice());
    broken[5]![7] = NaN;
    expect(() => driftReport(reference, broken, { seed: 1, sampleSize: 1000 })).toThrow(/non-finite/);
    expect(() =>
      driftReport(reference, current, { seed: 1, methods: ['ratio'], verdictMethod: 'mmd' }),
    ).toThrow(DriftInputError);
  });

  it('samples each window to sampleSize, runs the chosen methods and takes the verdict from model', () => {
    const { reference, current } = windows(
      3,
      { rows: 2500 },
      { rows: 300, shift: { dimensions: 24, by: 0.08 } },
    );
    const all = sufficient(driftReport(reference, current, { seed: 5, sampleSize: 1200 }));
    expect(all.rows).toEqual({
      given: { reference: 2500, current: 300 },
      used: { reference: 1200, current: 300 },
    });
    expect(all.dimensions).toBe(DIMENSIONS);
    expect(Object.keys(all.results)).toEqual(['model', 'ratio', 'distance', 'mmd']);
    expect(all.verdictMethod).toBe('model');
    expect(all.drifted).toBe(all.results.model!.drifted);
    expect(all.results.model!.bootstrap).toBe(false);

    const some = sufficient(
      driftReport(reference, current, { seed: 5, sampleSize: 1200, methods: ['mmd', 'distance'] }),
    );
    expect(Object.keys(some.results)).toEqual(['distance', 'mmd']);
    expect(some.verdictMethod).toBe('distance');
    // Each method's seed comes from the report's seed alone, not from which others ran.
    expect(some.results.mmd).toEqual(all.results.mmd);
    const named = sufficient(
      driftReport(reference, current, { seed: 5, sampleSize: 1200, verdictMethod: 'ratio' }),
    );
    expect(named.drifted).toBe(named.results.ratio!.drifted);
  });

  it('is deterministic for a seed: same inputs and seed, identical numbers', () => {
    const { reference, current } = windows(4, { rows: 900 }, { rows: 700 });
    const options = { seed: 77, sampleSize: 600 };
    const first = driftReport(reference, current, options);
    expect(driftReport(reference, current, options)).toEqual(first);
    expect(driftReport(reference.slice(), current.slice(), { ...options })).toEqual(first);
    const other = sufficient(driftReport(reference, current, { ...options, seed: 78 }));
    expect(other.results.distance!.value).not.toBe(sufficient(first).results.distance!.value);
    expect(other.results.model!.value).not.toBe(sufficient(first).results.model!.value);
  });

  it('rarely drifts for two windows from one distribution (false alarms over 20 seeds)', () => {
    const methods: DriftMethodName[] = ['model', 'ratio', 'distance', 'mmd'];
    const alarms = { model: 0, ratio: 0, distance: 0, mmd: 0, mmdPermutation: 0 };
    for (let seed = 0; seed < 20; seed++) {
      const { reference, current } = windows(100 + seed, { rows: 1000 }, { rows: 1000 });
      // mmd on 500 rows a window instead of 1,000 keeps this loop at a quarter of the kernel cost.
      const report = sufficient(driftReport(reference, current, { seed, mmd: { maxRows: 500 } }));
      for (const method of methods) if (report.results[method]!.drifted) alarms[method]++;
      if (report.results.mmd!.pValue! < 0.05) alarms.mmdPermutation++;
    }
    // Observed (1,000 vs 1,000 rows, 64 dimensions): no alarm from any method, and no MMD p-value
    // below 0.05 (smallest 0.099). What the thresholds imply at this size: AUC's null standard
    // deviation is 0.013, so 0.55 is 3.9 of them; W1/σ per component is ≥ 0.1 about 5 % of the
    // time, and 13 of 64 components (a share > 0.2) practically never; the distance between means
    // here is 0.02–0.04 against 0.2; MMD²ᵤ stays below 0.001 against 0.015. The permutation test
    // is a 5 % test: 1 in 20 expected, 4 or more has probability 1.6 %.
    expect(alarms).toEqual({
      model: 0,
      ratio: 0,
      distance: 0,
      mmd: 0,
      mmdPermutation: alarms.mmdPermutation,
    });
    expect(alarms.mmdPermutation).toBeLessThanOrEqual(3);
  });

  it('bootstraps the model below 1,000 reference rows, a 5 % test (false alarms over 20 seeds)', () => {
    let alarms = 0;
    for (let seed = 0; seed < 20; seed++) {
      const { reference, current } = windows(100 + seed, {}, {});
      const report = sufficient(driftReport(reference, current, { seed, methods: ['model'] }));
      expect(report.results.model!.bootstrap).toBe(true);
      if (report.drifted) alarms++;
    }
    // Observed (500 vs 500 rows): 0 of 20; 1 expected, 4 or more has probability 1.6 %. (At this
    // size ratio's fixed threshold is not quiet: it flagged 5 of these 20, see ratioDrift.)
    expect(alarms).toBeLessThanOrEqual(3);
  });

  it('drifts by every method for a clear shift of the mean along some dimensions', () => {
    const { reference, current } = windows(
      5,
      { rows: 600 },
      { rows: 600, shift: { dimensions: 24, by: 0.08 } },
    );
    const report = sufficient(driftReport(reference, current, { seed: 1 }));
    // Observed: AUC 0.9996 (bootstrap threshold 0.543), ratio 0.59, distance 0.33, MMD² 0.054 (p = 1/101).
    for (const method of ['model', 'ratio', 'distance', 'mmd'] as const)
      expect(report.results[method]!.drifted).toBe(true);
    expect(report.drifted).toBe(true);
  });

  it('a 10-point change in the topic mixture: the fixed MMD threshold stays quiet, its permutation test does not', () => {
    const { reference, current } = windows(
      6,
      { rows: 1000 },
      { rows: 1000, proportions: [0.3, 0.4, 0.2, 0.1] },
    );
    const report = sufficient(driftReport(reference, current, { seed: 1 }));
    // Observed: MMD² 0.0096 (< 0.015) with p = 1/101, distance 0.136 (< 0.2), AUC 0.533 (< 0.55):
    // quiet by their fixed thresholds. ratio does flag it (share 0.64): moving 10 % of the rows
    // between two well-separated topics moves many components' distributions by 0.1 σ or more.
    expect(report.results.mmd!.drifted).toBe(false);
    expect(report.results.mmd!.pValue!).toBeLessThan(0.05);
    expect(report.results.distance!.drifted).toBe(false);
  });
});
