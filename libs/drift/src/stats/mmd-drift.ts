import type { DriftMethodResult } from './drift-result';
import {
  DriftInputError,
  type EmbeddingWindow,
  type Matrix,
  selectRows,
  toMatrices,
} from './embedding-matrix';
import { sampleIndices, SeededRandom } from './seeded-random';

// Math's functions as module constants: inside a vm context (jest's) each `Math.` in a hot loop is a
// slow global lookup, 4–20× slower here; outside it this costs nothing.
const { exp, max, min, sqrt } = Math;

/** Labellings scored per pass over the kernel matrix (see `unbiasedMmd2`). */
const PERMUTATION_BATCH = 4;

/** Options of the `mmd` method; threshold from Evidently's `mmd()`, permutations from alibi-detect's `MMDDrift`. */
export interface MmdDriftOptions {
  /** Seeds the subsampling and the permutations. */
  seed: number;
  /** The windows drift when the unbiased MMD² is above this. @defaultValue 0.015 */
  threshold?: number;
  /** Rows of each window used, a seeded sample of those beyond it (the cost is quadratic). @defaultValue 1000 */
  maxRows?: number;
  /** Permutations of the pooled rows for the p-value; 0 computes none. @defaultValue 100 */
  permutations?: number;
  /** A fixed bandwidth σ of k(x, y) = exp(−‖x − y‖² / (2σ²)) instead of the median heuristic. */
  sigma?: number;
}

export interface MmdDriftResult extends DriftMethodResult {
  method: 'mmd';
  /** Share of permutations whose MMD² is at least the observed one, counting the observed as one of them. */
  pValue?: number;
  /** Rows of each window the statistic was computed on (after the `maxRows` cap). */
  rowsUsed: { reference: number; current: number };
  /** The bandwidth σ used, in k(x, y) = exp(−‖x − y‖² / (2σ²)). */
  sigma: number;
  permutations: number;
}

/**
 * Squared maximum mean discrepancy between the windows with a Gaussian RBF kernel, the unbiased
 * estimator MMD²ᵤ (the mean kernel value within the reference, within the current window, each
 * without its diagonal, minus twice the mean across them): 0 in expectation when the windows come
 * from one distribution, larger the more the distributions differ anywhere the kernel sees.
 *
 * Followed from Evidently's `MMDDriftMethod`: the unbiased `MMD2u`; the bandwidth by the median
 * heuristic over the distances between reference and current rows (up to 1,000 of each, here
 * the rows the kernel uses), with the kernel `sklearn rbf, gamma = 1 / median²`, i.e. exp(−‖x − y‖² / median²), which
 * is exp(−‖x − y‖² / (2σ²)) with σ = median / √2; alibi-detect's `GaussianRBF` with
 * `sigma_median` is the same kernel (σ² = median of squared distances / 2, k = exp(−d² / (2σ²)));
 * the 0.015 threshold; the value reported as max(MMD²ᵤ, 0) while the verdict compares MMD²ᵤ.
 *
 * Followed from alibi-detect's `MMDDriftTorch.score`: the permutation p-value, 100 random
 * permutations of the pooled rows with the kernel (and σ) kept fixed, each scored with the same
 * unbiased estimator. Differs: p = (1 + #{permuted ≥ observed}) / (1 + permutations), where
 * alibi-detect takes #{permuted ≥ observed} / permutations; the added one counts the observed
 * labelling as one of the permutations, so p is never 0 (≥ 1/101) and the test keeps its level.
 *
 * Differs from Evidently: the kernel is computed on at most `maxRows` rows of each window (a
 * seeded sample; Evidently takes every row for the kernel and samples only for the median), which
 * bounds the cost at 2,000² kernel entries. When more than half the cross distances are 0 (mostly
 * duplicate rows), the median of the non-zero ones is used, where Evidently would divide by 0.
 */
export function mmdDrift(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  options: MmdDriftOptions,
): MmdDriftResult {
  const { reference: ref, current: cur } = toMatrices(reference, current, 2);
  return mmdDriftOf(ref, cur, options);
}

export function mmdDriftOf(ref: Matrix, cur: Matrix, options: MmdDriftOptions): MmdDriftResult {
  const maxRows = options.maxRows ?? 1000;
  if (ref.rows < 2 || cur.rows < 2) throw new DriftInputError('the mmd method needs 2 rows in each window');
  if (maxRows < 2) throw new DriftInputError('mmd maxRows must be at least 2');
  const x =
    ref.rows > maxRows
      ? selectRows(ref, sampleIndices(ref.rows, maxRows, new SeededRandom(options.seed, 1)))
      : ref;
  const y =
    cur.rows > maxRows
      ? selectRows(cur, sampleIndices(cur.rows, maxRows, new SeededRandom(options.seed, 2)))
      : cur;
  const m = x.rows;
  const n = y.rows;
  const total = m + n;
  const squared = pooledSquaredDistances(x, y);
  const sigma = options.sigma ?? medianCrossDistance(squared, m, n) / Math.SQRT2;
  const kernel = squared;
  const gamma = 1 / (2 * sigma * sigma);
  for (let i = 0; i < total; i++)
    for (let j = i + 1; j < total; j++)
      kernel[i * total + j] = sigma > 0 ? exp(-gamma * squared[i * total + j]!) : 0;
  const rowSums = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    let sum = 0;
    for (let j = i + 1; j < total; j++) sum += kernel[i * total + j]!;
    rowSums[i] = sum;
  }
  const inReference = new Float64Array(total);
  inReference.fill(1, 0, m);
  const mmd2 = unbiasedMmd2(kernel, rowSums, [inReference, inReference, inReference, inReference], m, n)[0]!;
  const permutations = options.permutations ?? 100;
  const threshold = options.threshold ?? 0.015;
  const result: MmdDriftResult = {
    method: 'mmd',
    value: max(mmd2, 0),
    threshold,
    drifted: mmd2 > threshold,
    rowsUsed: { reference: m, current: n },
    sigma,
    permutations,
  };
  if (permutations > 0) {
    const random = new SeededRandom(options.seed, 3);
    let atLeast = 0;
    for (let done = 0; done < permutations; done += PERMUTATION_BATCH) {
      // Each labelling is a fresh shuffle of the previous one, drawn in order, so the batch size
      // changes the speed and not the p-value.
      const labellings = Array.from({ length: PERMUTATION_BATCH }, () => random.shuffle(inReference).slice());
      const permuted = unbiasedMmd2(kernel, rowSums, labellings, m, n);
      for (let b = 0; b < min(PERMUTATION_BATCH, permutations - done); b++)
        if (permuted[b]! >= mmd2) atLeast++;
    }
    result.pValue = (1 + atLeast) / (1 + permutations);
  }
  return result;
}

/**
 * ‖pᵢ − pⱼ‖² for i < j of the pooled rows p = [x; y], in the upper triangle of a (m+n)² block, as
 * ‖pᵢ‖² + ‖pⱼ‖² − 2 pᵢ·pⱼ clipped at 0 (sklearn's `euclidean_distances` does the same). Four dot
 * products share each read of row i.
 */
function pooledSquaredDistances(x: Matrix, y: Matrix): Float64Array {
  const d = x.cols;
  const total = x.rows + y.rows;
  const rows = new Float64Array(total * d);
  rows.set(x.data.subarray(0, x.rows * d), 0);
  rows.set(y.data.subarray(0, y.rows * d), x.rows * d);
  const norms = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    let sum = 0;
    for (let k = i * d; k < (i + 1) * d; k++) sum += rows[k]! * rows[k]!;
    norms[i] = sum;
  }
  const out = new Float64Array(total * total);
  for (let i = 0; i < total; i++) {
    const a = i * d;
    let j = i + 1;
    for (; j + 3 < total; j += 4) {
      const b0 = j * d;
      const b1 = b0 + d;
      const b2 = b1 + d;
      const b3 = b2 + d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < d; k++) {
        const v = rows[a + k]!;
        s0 += v * rows[b0 + k]!;
        s1 += v * rows[b1 + k]!;
        s2 += v * rows[b2 + k]!;
        s3 += v * rows[b3 + k]!;
      }
      out[i * total + j] = max(0, norms[i]! + norms[j]! - 2 * s0);
      out[i * total + j + 1] = max(0, norms[i]! + norms[j + 1]! - 2 * s1);
      out[i * total + j + 2] = max(0, norms[i]! + norms[j + 2]! - 2 * s2);
      out[i * total + j + 3] = max(0, norms[i]! + norms[j + 3]! - 2 * s3);
    }
    for (; j < total; j++) out[i * total + j] = max(0, norms[i]! + norms[j]! - 2 * dotAt(rows, a, j * d, d));
  }
  return out;
}

function dotAt(rows: Float64Array, a: number, b: number, d: number): number {
  let sum = 0;
  for (let k = 0; k < d; k++) sum += rows[a + k]! * rows[b + k]!;
  return sum;
}

/**
 * numpy's median (the mean of the two middle values for an even count) of the reference–current
 * distances, found on the squared distances by selection rather than a full sort.
 */
function medianCrossDistance(squared: Float64Array, m: number, n: number): number {
  const total = m + n;
  const values = new Float64Array(m * n);
  for (let i = 0; i < m; i++) values.set(squared.subarray(i * total + m, i * total + total), i * n);
  const median = middleOf(values);
  if (median > 0) return median;
  // Mostly duplicates: the median of the non-zero distances instead.
  const positive = values.filter((value) => value > 0);
  return positive.length === 0 ? 0 : middleOf(positive);
}

/** Median of the square roots of `values` (reordered in place). */
function middleOf(values: Float64Array): number {
  const half = values.length >> 1;
  const upper = sqrt(select(values, half));
  if (values.length % 2 === 1) return upper;
  // After selection everything below `half` is ≤ the selected value: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < half; i++) lower = max(lower, values[i]!);
  return (sqrt(lower) + upper) / 2;
}

/** Hoare's quickselect: the k-th smallest value, with smaller values left of it and larger right. */
function select(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    const pivot = values[(left + right) >> 1]!;
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const held = values[i]!;
        values[i] = values[j]!;
        values[j] = held;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return values[k]!;
  }
  return values[k]!;
}

/**
 * MMD²ᵤ for four labellings at once (`inReference[b][i]` 1 for the m rows counted as reference, 0
 * for the n others), from the upper triangle of the kernel matrix and its row sums: for every row
 * i the sum of K_ij over later reference rows j splits row i's sum into its within- and
 * cross-window parts. Four labellings share each pass over the kernel matrix (32 MB at 2,000
 * rows): reading it is what the permutations cost.
 */
function unbiasedMmd2(
  kernel: Float64Array,
  rowSums: Float64Array,
  inReference: readonly Float64Array[],
  m: number,
  n: number,
): Float64Array {
  const total = m + n;
  const [a0, a1, a2, a3] = inReference as [Float64Array, Float64Array, Float64Array, Float64Array];
  const withinReference = new Float64Array(PERMUTATION_BATCH);
  const withinCurrent = new Float64Array(PERMUTATION_BATCH);
  const across = new Float64Array(PERMUTATION_BATCH);
  const toReference = new Float64Array(PERMUTATION_BATCH);
  for (let i = 0; i < total; i++) {
    const offset = i * total;
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (let j = i + 1; j < total; j++) {
      const k = kernel[offset + j]!;
      t0 += k * a0[j]!;
      t1 += k * a1[j]!;
      t2 += k * a2[j]!;
      t3 += k * a3[j]!;
    }
    toReference[0] = t0;
    toReference[1] = t1;
    toReference[2] = t2;
    toReference[3] = t3;
    for (let b = 0; b < PERMUTATION_BATCH; b++)
      if (inReference[b]![i] === 1) {
        withinReference[b]! += toReference[b]!;
        across[b]! += rowSums[i]! - toReference[b]!;
      } else {
        across[b]! += toReference[b]!;
        withinCurrent[b]! += rowSums[i]! - toReference[b]!;
      }
  }
  return withinReference.map(
    (_, b) =>
      (2 * withinReference[b]!) / (m * (m - 1)) +
      (2 * withinCurrent[b]!) / (n * (n - 1)) -
      (2 * across[b]!) / (m * n),
  );
}
