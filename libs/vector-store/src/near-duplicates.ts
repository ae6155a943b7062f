import { Payload, SearchHit } from './vector-store';

// Near-duplicate groups: the stores keep crowds of near-identical vectors (templated rows,
// retweets) out of their HNSW graphs, because HNSW's neighbour pruning cuts the crowd off from the
// points unlike it (see the embedded store's `newIndex`). A point at least `FOLD_MIN_COSINE` from
// its nearest point in the graph joins that representative's group instead; a search reaches
// representatives on the graph, then scans each group whose members could still rank, which
// `capBound` decides. The numbers and the bound live here so that every store means the same.

/**
 * A point at least this close (cosine) to its nearest representative joins that one's group. The
 * crowds that break HNSW sit well above it (templated rows 0.87–0.97 to each other under use-lite,
 * retweets near 1), texts on one topic below it (0.5–0.8), so ordinary collections stay all graph.
 * A lower bar makes fewer, wider groups: wider radii, so more of them get scanned.
 */
export const FOLD_MIN_COSINE = 0.9;

/**
 * Groups with at least this many members are checked by every search: their members may outrank
 * what the graph returned even when their representative is not among it. Smaller ones are found
 * through their representative, like any point of the graph.
 */
export const LARGE_GROUP_SIZE = 64;

/**
 * Slack on `capBound` for float32 rounding: scores are float32 dot products of unit rows (error
 * about 1e-7 × √dimensions), so a member that ties the bound is never pruned.
 */
const BOUND_SLACK = 1e-5;

/** The dot product of two vectors of the same length (the cosine, for unit vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += (a[d] as number) * (b[d] as number);
  return sum;
}

/** `vector` scaled to unit length, in a buffer of its own (the binding reads from a buffer's start). */
export function unitVector(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let d = 0; d < vector.length; d++) norm += (vector[d] as number) ** 2;
  const scale = 1 / Math.sqrt(norm);
  const unit = new Float32Array(vector.length);
  for (let d = 0; d < vector.length; d++) unit[d] = (vector[d] as number) * scale;
  return unit;
}

/** The angle (radians) whose cosine is `score`, clamped to [0, π]. */
export function angleOf(score: number): number {
  return Math.acos(Math.min(1, Math.max(-1, score)));
}

/**
 * The highest cosine any unit vector within `radius` radians of a point can have with the query,
 * given the point's own cosine `score` with it: angles obey the triangle inequality on the sphere,
 * so nothing in the cap scores above cos(max(0, angle − radius)).
 */
export function capBound(score: number, radius: number): number {
  const angle = angleOf(score);
  return angle <= radius ? 1 : Math.cos(angle - radius) + BOUND_SLACK;
}

interface Ranked {
  id: string;
  score: number;
  payload: Payload;
}

/** The best k hits offered so far, best first; among equal scores the first offered ranks first. */
export class BestHits {
  private readonly ranked: Ranked[] = [];

  constructor(readonly k: number) {}

  get full(): boolean {
    return this.ranked.length >= this.k;
  }

  /** The k-th best score once full (a hit must beat it to get in); −∞ before. */
  get floor(): number {
    return this.full ? (this.ranked[this.k - 1] as Ranked).score : Number.NEGATIVE_INFINITY;
  }

  offer(id: string, score: number, payload: Payload): void {
    if (this.full && score <= this.floor) return;
    let lo = 0;
    let hi = this.ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.ranked[mid] as Ranked).score >= score) lo = mid + 1;
      else hi = mid;
    }
    this.ranked.splice(lo, 0, { id, score, payload });
    if (this.ranked.length > this.k) this.ranked.pop();
  }

  /** The hits, each with a payload of its own. */
  hits(): SearchHit[] {
    return this.ranked.map(({ id, score, payload }) => ({ id, score, payload: { ...payload } }));
  }
}
