// A reading is anomalous when nothing recent looks like it. The distance to the k-th nearest recent
// reading, rather than the nearest, keeps one earlier copy of the same fault from hiding it.
import { StreamKindInputError, type VectorLike, dot, norm } from '../vectors';

/** The neighbour whose distance is the score. @defaultValue 5 */
export const DEFAULT_ANOMALY_K = 5;

/**
 * The cosine distance (1 − cos, 0 … 2) from `vector` to its `k`-th nearest among `recent`, the
 * caller's window of recent readings. `recent` may hold `vector` itself (the same object): it is
 * skipped, so a window that already includes the reading scores it against the others.
 *
 * Fewer than `k` others: NaN. There is not enough history to call anything unusual, and NaN
 * compares false with every threshold, so a `score > threshold` alarm stays quiet until the window
 * fills; `Number.isNaN` tells "no score yet" apart.
 *
 * @throws StreamKindInputError on k not a whole number ≥ 1, mixed dimensions, or a zero vector.
 */
export function kthNeighbourDistance(
  vector: VectorLike,
  recent: readonly VectorLike[],
  k: number = DEFAULT_ANOMALY_K,
): number {
  if (!Number.isInteger(k) || k < 1) throw new StreamKindInputError(`k must be a whole number ≥ 1, got ${k}`);
  const length = nonZeroNorm(vector, 'vector');
  const distances: number[] = [];
  recent.forEach((other, i) => {
    if (other === vector) return;
    if (other.length !== vector.length)
      throw new StreamKindInputError(
        `recent[${i}] has ${other.length} dimensions, expected ${vector.length}`,
      );
    distances.push(1 - dot(vector, other) / (length * nonZeroNorm(other, `recent[${i}]`)));
  });
  if (distances.length < k) return Number.NaN;
  return distances.sort((a, b) => a - b)[k - 1]!;
}

function nonZeroNorm(v: VectorLike, name: string): number {
  const length = norm(v);
  if (!(length > 0) || !Number.isFinite(length))
    throw new StreamKindInputError(`${name} is the zero vector or not finite; it has no cosine`);
  return length;
}
