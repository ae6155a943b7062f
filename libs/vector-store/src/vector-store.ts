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
 * Takes collections' next versions for the index log: `next` runs `publish` with the collection's
 * next version and holds that version (no other writer of the collection gets a later one) until
 * `publish` settles, so entries appended meanwhile are in version order; a `publish` that rejects
 * gives the version back (the next writer gets it again). The database implements it.
 */
export interface CollectionVersions {
  next<T>(key: string, publish: (version: string) => Promise<T>): Promise<T>;
}

/** What a writer may say about one write besides the points themselves. */
export interface WriteContext {
  /** When the API accepted each point (ms since the epoch, in the points' order): freshness is measured from it. */
  acceptedAt?: number[];
  /**
   * Where the index log takes the write's version, when the caller holds one already (a database
   * transaction that must commit together with the write); other stores ignore it.
   */
  versions?: CollectionVersions;
  /**
   * Nobody waits to search this write (a rollout's backfill page): the index log marks it, and the
   * API applies it after writes to other collections read with it, so live items do not queue
   * behind a backfill. Other stores ignore it.
   */
  background?: boolean;
}

/**
 * The side of a store that writers (workers, deletes in the API) need. How the writes reach the
 * index is the implementation's business: directly for shared stores, through the index log for
 * the embedded store, which the API process applies ({@link IndexLogWriter}).
 */
export interface VectorWriter {
  readonly kind: 'embedded' | 'pgvector' | 'qdrant';
  /** Creates the collection if missing; throws VectorStoreError if it exists with other dimensions. Idempotent. */
  ensureCollection(key: string, dimensions: number): Promise<void>;
  /**
   * Insert or replace points by id (same id twice = one point, latest wins). Searchable when the
   * promise resolves for shared stores; once the log entry is applied for the embedded store.
   */
  upsert(key: string, points: VectorPoint[], context?: WriteContext): Promise<void>;
  /** Deletes by id; a collection the store does not hold is a VectorStoreError `unknown_collection`. */
  delete(key: string, ids: string[], context?: WriteContext): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * A set of per-collection vector indexes. Collection keys are opaque to the store (the caller builds
 * them from tenant, collection and model); a collection's points never show up in another's search,
 * count or delete.
 *
 * An alias is a second name for one collection (Qdrant's collection aliases): `upsert`, `delete`,
 * `search` and `info` by an alias reach the collection it names at the time of the call, so a
 * caller that searches by the alias is moved from one collection (a model version's index) to
 * another by one `alias()` call, and each answer comes wholly from one of them. Alias names follow
 * the key pattern and never equal a collection key; `ensureCollection(alias, d)` checks the named
 * collection's dimensions and creates nothing; `dropCollection(alias)` drops nothing; `list()`
 * lists collections, never aliases.
 */
export interface VectorStore extends VectorWriter {
  /** Insert or replace points by id (same id twice = one point, latest wins). Searchable when the promise resolves. */
  upsert(key: string, points: VectorPoint[]): Promise<void>;
  /** Deletes by id; returns how many existed. */
  delete(key: string, ids: string[]): Promise<number>;
  search(key: string, query: SearchQuery): Promise<SearchHit[]>;
  /** By an alias: the info of the collection it names (`key` is that collection's key). */
  info(key: string): Promise<CollectionInfo | undefined>;
  /** Every collection key this store holds (optionally only those starting with prefix). */
  list(prefix?: string): Promise<CollectionInfo[]>;
  /** Drops the collection and every alias naming it. */
  dropCollection(key: string): Promise<void>;
  /**
   * Makes `alias` name the collection `key` in one atomic step (replacing what it named before):
   * a call by `alias` running meanwhile reaches the old collection or the new one, never neither
   * or both, and calls by `alias` made after the promise resolves reach `key`. `key` must be a
   * collection (not an alias): otherwise VectorStoreError `unknown_collection`, and the alias keeps
   * naming what it named. An `alias` that is a collection's key is `invalid_argument`. Idempotent.
   */
  alias(alias: string, key: string): Promise<void>;
  /** Removes the alias (none: nothing to do); the collection it named is untouched. */
  dropAlias(alias: string): Promise<void>;
  /** Persists what is in memory (embedded); no-op elsewhere. */
  flush(): Promise<void>;
}

/** Where the index's timings go (prom-client histograms and counters fit). */
export interface IndexMetrics {
  indexUpsertDuration: { observe(labels: { store: VectorWriter['kind'] }, seconds: number): void };
  freshness: { observe(labels: { store: VectorWriter['kind'] }, seconds: number): void };
  indexRebuilds: { inc(labels: { reason: 'version_gap' | 'apply_failed' | 'behind_source' }): void };
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
