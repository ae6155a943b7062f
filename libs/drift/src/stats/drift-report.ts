import { type DistanceDriftOptions, type DistanceDriftResult, distanceDriftOf } from './distance-drift';
import type { DriftMethodName, DriftMethodResult } from './drift-result';
import { DriftInputError, type EmbeddingWindow, toMatrices } from './embedding-matrix';
import { type MmdDriftOptions, type MmdDriftResult, mmdDriftOf } from './mmd-drift';
import { modelDriftOf, type ModelDriftOptions, type ModelDriftResult } from './model-drift';
import { ratioDriftOf, type RatioDriftOptions, type RatioDriftResult } from './ratio-drift';
import { deriveSeed, seededSample } from './seeded-random';

/** Every method, in the order a report runs and lists them. */
export const DRIFT_METHODS: readonly DriftMethodName[] = ['model', 'ratio', 'distance', 'mmd'];

export interface DriftReportOptions {
  /** Seeds every random choice (window samples, split, permutations): same inputs and seed, same report. */
  seed: number;
  /** The methods to run. @defaultValue all four: `['model', 'ratio', 'distance', 'mmd']` */
  methods?: readonly DriftMethodName[];
  /** The method whose verdict is the report's. @defaultValue 'model', or the first of `methods` without it */
  verdictMethod?: DriftMethodName;
  /** Each window is reduced to a seeded sample of this many rows first. @defaultValue 2000 */
  sampleSize?: number;
  /** A window with fewer rows gets an insufficient answer instead of statistics. @defaultValue 100 */
  minRows?: number;
  /** Per-method options (their seeds come from `seed`). */
  model?: Omit<ModelDriftOptions, 'seed'>;
  ratio?: RatioDriftOptions;
  distance?: Omit<DistanceDriftOptions, 'seed'>;
  mmd?: Omit<MmdDriftOptions, 'seed'>;
}

/** Row counts of the two windows. */
export interface WindowRows {
  reference: number;
  current: number;
}

export interface DriftMethodResults {
  model?: ModelDriftResult;
  ratio?: RatioDriftResult;
  distance?: DistanceDriftResult;
  mmd?: MmdDriftResult;
}

export interface DriftReportResult {
  insufficient: false;
  /** The verdict method's verdict. */
  drifted: boolean;
  verdictMethod: DriftMethodName;
  results: DriftMethodResults;
  /** Rows given, and rows used after sampling. */
  rows: { given: WindowRows; used: WindowRows };
  dimensions: number;
}

/** A window too small to say anything: no statistics were computed. */
export interface InsufficientDriftData {
  insufficient: true;
  reason: string;
  rows: { given: WindowRows };
  minRows: number;
}

export type DriftReport = DriftReportResult | InsufficientDriftData;

/**
 * Compares a current window of embeddings with a reference window by Evidently's embedding-drift
 * methods (see `modelDrift`, `ratioDrift`, `distanceDrift`, `mmdDrift` for each statistic and its
 * default threshold). Each window is first cut to a seeded sample of `sampleSize` rows; a window
 * with fewer than `minRows` rows is answered `{ insufficient: true, reason }` rather than thrown
 * at, since a quiet stream is not an error. The report drifts when the verdict method does (the
 * domain classifier, `model`, as in Evidently, unless another is named or it is not run).
 * Throws `DriftInputError` for rows of differing dimensions, non-finite values or bad options.
 */
export function driftReport(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  options: DriftReportOptions,
): DriftReport {
  const minRows = options.minRows ?? 100;
  const sampleSize = options.sampleSize ?? 2000;
  const methods = DRIFT_METHODS.filter((method) => (options.methods ?? DRIFT_METHODS).includes(method));
  const verdictMethod = options.verdictMethod ?? (methods.includes('model') ? 'model' : methods[0]);
  if (!Number.isInteger(minRows) || minRows < 2)
    throw new DriftInputError('minRows must be a whole number ≥ 2');
  if (!Number.isInteger(sampleSize) || sampleSize < minRows)
    throw new DriftInputError('sampleSize must be a whole number ≥ minRows');
  if (verdictMethod === undefined) throw new DriftInputError('no drift method chosen');
  if (!methods.includes(verdictMethod))
    throw new DriftInputError(`the verdict method ${verdictMethod} is not among the methods run`);
  const given = { reference: reference.length, current: current.length };
  for (const [name, rows] of Object.entries(given))
    if (rows < minRows)
      return {
        insufficient: true,
        reason: `the ${name} window has ${rows} rows, fewer than the ${minRows} a drift report needs`,
        rows: { given },
        minRows,
      };
  const { reference: ref, current: cur } = toMatrices(
    seededSample(reference, sampleSize, deriveSeed(options.seed, 10)),
    seededSample(current, sampleSize, deriveSeed(options.seed, 11)),
    minRows,
  );
  const methodSeed = (method: DriftMethodName) =>
    deriveSeed(options.seed, 20 + DRIFT_METHODS.indexOf(method));
  const results: DriftMethodResults = {};
  for (const method of methods)
    switch (method) {
      case 'model':
        results.model = modelDriftOf(ref, cur, { ...options.model, seed: methodSeed(method) });
        break;
      case 'ratio':
        results.ratio = ratioDriftOf(ref, cur, options.ratio);
        break;
      case 'distance':
        results.distance = distanceDriftOf(ref, cur, { ...options.distance, seed: methodSeed(method) });
        break;
      case 'mmd':
        results.mmd = mmdDriftOf(ref, cur, { ...options.mmd, seed: methodSeed(method) });
        break;
    }
  const verdict: DriftMethodResult | undefined = results[verdictMethod];
  return {
    insufficient: false,
    drifted: verdict?.drifted ?? false,
    verdictMethod,
    results,
    rows: { given, used: { reference: ref.rows, current: cur.rows } },
    dimensions: ref.cols,
  };
}
