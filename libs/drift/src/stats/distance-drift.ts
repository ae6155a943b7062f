import type { DriftMethodResult } from './drift-result';
import { columnMeans, type EmbeddingWindow, type Matrix, percentile, toMatrices } from './embedding-matrix';
import { SeededRandom } from './seeded-random';

/** How `distance` compares the two mean vectors. */
export type MeanDistanceMetric = 'euclidean' | 'cosine';

/** Options of the `distance` method; the defaults are Evidently's `distance()`. */
export interface DistanceDriftOptions {
  /** @defaultValue 'euclidean' */
  metric?: MeanDistanceMetric;
  /** Without bootstrap, the windows drift when the distance is above this. @defaultValue 0.2 */
  threshold?: number;
  /**
   * Compare with the `quantileProbability` percentile of distances between two resamples of the
   * reference instead. Evidently's `distance()` does this only when asked (`bootstrap=None`),
   * whatever the reference's size, and so does this. @defaultValue false
   */
  bootstrap?: boolean;
  /** @defaultValue 0.95 */
  quantileProbability?: number;
  /** Resamples in the bootstrap (Evidently's fixed 100). @defaultValue 100 */
  resamples?: number;
  /** Seeds the bootstrap's resampling (unused without it). @defaultValue 0 */
  seed?: number;
}

export interface DistanceDriftResult extends DriftMethodResult {
  method: 'distance';
  metric: MeanDistanceMetric;
  bootstrap: boolean;
}

/** Euclidean distance, or cosine distance 1 − u·v / (‖u‖ ‖v‖) as scipy's `spatial.distance.cosine`. */
export function meanDistance(u: Float64Array, v: Float64Array, metric: MeanDistanceMetric): number {
  let uv = 0;
  let uu = 0;
  let vv = 0;
  let squares = 0;
  for (let j = 0; j < u.length; j++) {
    uv += u[j]! * v[j]!;
    uu += u[j]! * u[j]!;
    vv += v[j]! * v[j]!;
    squares += (u[j]! - v[j]!) ** 2;
  }
  switch (metric) {
    case 'euclidean':
      return Math.sqrt(squares);
    case 'cosine':
      return Math.max(0, Math.min(2, 1 - uv / Math.sqrt(uu * vv)));
  }
}

/**
 * Evidently's `distance` method: the distance between the two windows' mean vectors (euclidean by
 * default, or cosine), drift above 0.2. Cheap and blind to anything the means do not show
 * (a change in spread or in the mixture of clusters with the same mean).
 *
 * Optional bootstrap, as Evidently's `DistanceDriftMethod`: 100 times, draw ⌊m²/(m+n)⌋ and
 * ⌊mn/(m+n)⌋ rows with replacement from the reference alone (m reference, n current rows) and take
 * the distance between those two means; the threshold is their 95th percentile. Evidently seeds
 * resample i with `np.random.seed(i)`; here one stream seeded by `seed` draws them all.
 */
export function distanceDrift(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  options: DistanceDriftOptions = {},
): DistanceDriftResult {
  const { reference: ref, current: cur } = toMatrices(reference, current, 1);
  return distanceDriftOf(ref, cur, options);
}

export function distanceDriftOf(
  ref: Matrix,
  cur: Matrix,
  options: DistanceDriftOptions = {},
): DistanceDriftResult {
  const metric = options.metric ?? 'euclidean';
  const bootstrap = options.bootstrap ?? false;
  const value = meanDistance(columnMeans(ref), columnMeans(cur), metric);
  let threshold = options.threshold ?? 0.2;
  if (bootstrap) {
    const random = new SeededRandom(options.seed ?? 0, 0);
    const m = ref.rows;
    const n = cur.rows;
    const firstSize = Math.max(1, Math.floor((m * m) / (m + n)));
    const secondSize = Math.max(1, Math.floor((m * n) / (m + n)));
    const distances = new Float64Array(options.resamples ?? 100);
    for (let b = 0; b < distances.length; b++)
      distances[b] = meanDistance(
        resampledMean(ref, firstSize, random),
        resampledMean(ref, secondSize, random),
        metric,
      );
    threshold = percentile(distances, 100 * (options.quantileProbability ?? 0.95));
  }
  return { method: 'distance', value, threshold, drifted: value > threshold, metric, bootstrap };
}

/** Mean of `size` rows drawn with replacement. */
function resampledMean(m: Matrix, size: number, random: SeededRandom): Float64Array {
  const mean = new Float64Array(m.cols);
  for (let k = 0; k < size; k++) {
    const offset = random.int(m.rows) * m.cols;
    for (let j = 0; j < m.cols; j++) mean[j]! += m.data[offset + j]!;
  }
  for (let j = 0; j < m.cols; j++) mean[j]! /= size;
  return mean;
}
