import { VectorStoreError } from './vector-store';

/**
 * How widely a store searches, shared by the adapters so that "exact where cheap, wider where not"
 * means the same in each. Measured by `npm run bench:recall` (see the README for the figures).
 */
export interface SearchTuning {
  /**
   * A collection of at most this many points × dimensions is searched exactly (every point scored).
   * 0 never searches exactly up front.
   * @defaultValue 2_097_152 (4,096 points of 512 dimensions)
   */
  exactMaxFloats: number;
  /**
   * An HNSW search keeps at least this many candidates (usearch's `count`, pgvector's
   * `hnsw.ef_search`, Qdrant's `hnsw_ef`). 0 leaves the index's own setting.
   * @defaultValue 256
   */
  minBreadth: number;
  /** ... and at least k × this many. @defaultValue 16 */
  breadthPerK: number;
}

export const DEFAULT_SEARCH_TUNING: Readonly<SearchTuning> = Object.freeze({
  exactMaxFloats: 2_097_152,
  minBreadth: 256,
  breadthPerK: 16,
});

/** What each store did before the search plan (the bench's baseline): HNSW with a candidate list of k. */
export const HNSW_ONLY_SEARCH_TUNING: Readonly<SearchTuning> = Object.freeze({
  exactMaxFloats: 0,
  minBreadth: 0,
  breadthPerK: 1,
});

/** pgvector refuses a larger `hnsw.ef_search`; past it the other stores gain little per candidate too. */
export const MAX_SEARCH_BREADTH = 1000;

export interface SearchPlan {
  /** Score every point rather than walk the graph. */
  exact: boolean;
  /** Candidates an HNSW search keeps: at least k, at most MAX_SEARCH_BREADTH and the collection's size. */
  breadth: number;
}

/** Checks caller-supplied tuning once, at construction; returns a frozen copy with defaults filled in. */
export function searchTuning(tuning: Partial<SearchTuning> | undefined): Readonly<SearchTuning> {
  const merged = { ...DEFAULT_SEARCH_TUNING, ...tuning };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value < 0) {
      throw new VectorStoreError(`Search tuning ${name} must be a non-negative integer, not ${value}`);
    }
  }
  if (merged.breadthPerK < 1) throw new VectorStoreError('Search tuning breadthPerK must be at least 1');
  return Object.freeze(merged);
}

/** The plan for a k-nearest search over `size` points of `dimensions`. */
export function planSearch(
  size: number,
  dimensions: number,
  k: number,
  tuning: Readonly<SearchTuning>,
): SearchPlan {
  const exact = size * dimensions <= tuning.exactMaxFloats;
  const wanted = Math.max(k, tuning.minBreadth, k * tuning.breadthPerK);
  const breadth = Math.max(k, Math.min(wanted, MAX_SEARCH_BREADTH, Math.max(size, 1)));
  return { exact, breadth };
}
