/** One embedding vector; every row of both windows must have the same dimension. */
export type EmbeddingVector = Float32Array | Float64Array | readonly number[];

/** A window of embeddings (the reference or the current one), one vector per row. */
export type EmbeddingWindow = readonly EmbeddingVector[];

/** Input the statistics cannot be computed on (mixed dimensions, non-finite values, too few rows). */
export class DriftInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriftInputError';
  }
}

// A module constant: inside a vm context (jest's) a global lookup per value is slow.
const isFiniteNumber = Number.isFinite;

/** A window copied into one row-major float64 block, so the hot loops index a single typed array. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function toMatrix(window: EmbeddingWindow, name: string, cols: number): Matrix {
  const data = new Float64Array(window.length * cols);
  for (let i = 0; i < window.length; i++) {
    const row = window[i]!;
    if (row.length !== cols)
      throw new DriftInputError(`${name} row ${i} has ${row.length} dimensions, expected ${cols}`);
    const offset = i * cols;
    for (let j = 0; j < cols; j++) {
      const value = row[j]!;
      if (!isFiniteNumber(value)) throw new DriftInputError(`${name} row ${i} has a non-finite value`);
      data[offset + j] = value;
    }
  }
  return { rows: window.length, cols, data };
}

/** Both windows as matrices of one dimension, each with at least `minRows` rows. */
export function toMatrices(
  reference: EmbeddingWindow,
  current: EmbeddingWindow,
  minRows: number,
): { reference: Matrix; current: Matrix } {
  for (const [name, window] of [
    ['reference', reference],
    ['current', current],
  ] as const)
    if (window.length < minRows)
      throw new DriftInputError(
        `the ${name} window has ${window.length} rows; this statistic needs ${minRows}`,
      );
  const cols = reference[0]!.length;
  if (cols === 0) throw new DriftInputError('embeddings have no dimensions');
  return { reference: toMatrix(reference, 'reference', cols), current: toMatrix(current, 'current', cols) };
}

/** Mean of every column (float64 sums). */
export function columnMeans(m: Matrix): Float64Array {
  const means = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const offset = i * m.cols;
    for (let j = 0; j < m.cols; j++) means[j]! += m.data[offset + j]!;
  }
  for (let j = 0; j < m.cols; j++) means[j]! /= m.rows;
  return means;
}

/** Column `j` copied out (strided read). */
export function column(m: Matrix, j: number, out = new Float64Array(m.rows)): Float64Array {
  for (let i = 0; i < m.rows; i++) out[i] = m.data[i * m.cols + j]!;
  return out;
}

/** The rows at `indices`, in that order, as a new matrix. */
export function selectRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const data = new Float64Array(indices.length * m.cols);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i]! * m.cols;
    data.set(m.data.subarray(from, from + m.cols), i * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data };
}

/**
 * Linear-interpolation percentile of `values` (numpy's default `np.percentile(values, q)`, the
 * method Evidently's bootstrap thresholds use). `q` in [0, 100].
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) throw new DriftInputError('percentile of no values');
  const position = (q / 100) * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (position - below);
}
