export type PayloadValue = string | number | boolean | null;
export type Payload = Record<string, PayloadValue>;

export interface VectorPoint {
  id: string;
  vector: Float32Array;
  payload: Payload;
}

export interface SearchHit {
  id: string;
  /** Cosine similarity: higher is better; hits come best first. */
  score: number;
  payload: Payload;
}

export interface SearchQuery {
  vector: Float32Array;
  k: number;
  /** Exact match on every listed payload key (AND). */
  filter?: Record<string, PayloadValue>;
}

export interface CollectionInfo {
  key: string;
  dimensions: number;
  count: number;
}

/**
 * A set of per-collection vector indexes. Collection keys are opaque to the store (the caller builds
 * them from tenant, collection and model); a collection's points never show up in another's search,
 * count or delete.
 */
export interface VectorStore {
  readonly kind: 'embedded' | 'pgvector' | 'qdrant';
  /** Creates the collection if missing; throws VectorStoreError if it exists with other dimensions. Idempotent. */
  ensureCollection(key: string, dimensions: number): Promise<void>;
  /** Insert or replace points by id (same id twice = one point, latest wins). Searchable when the promise resolves. */
  upsert(key: string, points: VectorPoint[]): Promise<void>;
  /** Deletes by id; returns how many existed. */
  delete(key: string, ids: string[]): Promise<number>;
  search(key: string, query: SearchQuery): Promise<SearchHit[]>;
  info(key: string): Promise<CollectionInfo | undefined>;
  /** Every collection key this store holds (optionally only those starting with prefix). */
  list(prefix?: string): Promise<CollectionInfo[]>;
  dropCollection(key: string): Promise<void>;
  /** Persists what is in memory (embedded); no-op elsewhere. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why a VectorStoreError was thrown, for mapping to HTTP: `invalid_argument` → 422,
 * `unknown_collection` → 404, `dimension_mismatch` → 409 or 422, `closed` → 503.
 */
export type VectorStoreErrorCode =
  'invalid_argument' | 'unknown_collection' | 'dimension_mismatch' | 'closed';

/** A request the store refuses: malformed input, an unknown collection, other dimensions, a closed store. */
export class VectorStoreError extends Error {
  constructor(
    message: string,
    readonly code: VectorStoreErrorCode = 'invalid_argument',
  ) {
    super(message);
    this.name = 'VectorStoreError';
  }
}

/** Where a store reports what it did on its own (rebuilds, failed background saves). */
export type VectorStoreLog = (message: string) => void;
