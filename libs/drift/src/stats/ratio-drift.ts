import type { DriftMethodResult } from './drift-result';
import { column, type EmbeddingWindow, type Matrix, toMatrices } from './embedding-matrix';
import { populationStd, wassersteinSorted } from './wasserstein';

/** Options of the `ratio` method; the defaults are Evidently's `ratio()`. */
export interface RatioDriftOptions {
  /** A component drifts when its normed Wasserstein distance reaches this. @defaultValue 0.1 */
  componentThreshold?: number;
  /** The windows drift when the share of drifted components is above this. @defaultValue 0.2 */
  threshold?: number;
}

export interface RatioDriftResult extends DriftMethodResult {
  method: 'ratio';
  /** How many components (columns) drifted, of `components`. */
  driftedComponents: number;
  components: number;
  componentThreshold: number;
}

/**
 * Evidently's `ratio` method: every component (column) is tested on its own with Evidently's
 * `wasserstein` stattest, `wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)` (scipy's
 * exact 1-D Wasserstein-1 over the reference's population standard deviation), and drifts when that
 * is ≥ the component threshold (Evidently compares with `>=` here). The value is the share of
 * drifted components; the windows drift when it is above `threshold`. Deterministic, no sampling.
 *
 * The fixed 0.1 is a distance, not a test, and sampling noise alone reaches it in small windows:
 * for two normal samples of one distribution W1/σ averages 0.13 at 200 rows each, 0.08 at 500,
 * 0.058 at 1,000 and 0.04 at 2,000, and is ≥ 0.1 for 68 %, 20 %, 5 % and 0.1 % of components
 * (scipy, 2,000 trials). So at 500 rows a window the share often passes 0.2 with no drift at all;
 * the report's default sample of 2,000 rows keeps it quiet.
 */
export function ratioDrift(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  options: RatioDriftOptions = {},
): RatioDriftResult {
  const { reference: ref, current: cur } = toMatrices(reference, current, 1);
  return ratioDriftOf(ref, cur, options);
}

export function ratioDriftOf(ref: Matrix, cur: Matrix, options: RatioDriftOptions = {}): RatioDriftResult {
  const componentThreshold = options.componentThreshold ?? 0.1;
  const threshold = options.threshold ?? 0.2;
  const refColumn = new Float64Array(ref.rows);
  const curColumn = new Float64Array(cur.rows);
  let driftedComponents = 0;
  for (let j = 0; j < ref.cols; j++) {
    column(ref, j, refColumn);
    column(cur, j, curColumn);
    const norm = Math.max(populationStd(refColumn), 0.001);
    const normed = wassersteinSorted(refColumn.sort(), curColumn.sort()) / norm;
    if (normed >= componentThreshold) driftedComponents++;
  }
  const value = driftedComponents / ref.cols;
  return {
    method: 'ratio',
    value,
    threshold,
    drifted: value > threshold,
    driftedComponents,
    components: ref.cols,
    componentThreshold,
  };
}
