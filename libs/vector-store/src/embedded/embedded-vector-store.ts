import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Index, MetricKind, ScalarKind } from 'usearch';
import {
  CollectionInfo,
  Payload,
  SearchHit,
  SearchQuery,
  VectorPoint,
  VectorStore,
  VectorStoreError,
  VectorStoreLog,
} from '../vector-store';
import {
  assertCollectionKey,
  assertDimensions,
  assertPrefix,
  assertQuery,
  COLLECTION_KEY_PATTERN,
  latestPointPerId,
  matchesFilter,
  promised,
  uniqueIds,
} from '../validation';
import {
  CollectionEntry,
  CollectionFilesError,
  CollectionSnapshot,
  commitCollectionFiles,
  readCollectionFiles,
  tmpFlatPath,
  tmpIndexPath,
} from './collection-files';
import { FlatCopy } from './flat-copy';
import { DEFAULT_SEARCH_TUNING, planSearch, SearchTuning, searchTuning } from '../search-plan';

/**
 * The system of record the embedded indexes are derived from (the database). Used on open and by
 * `reconcile()` to rebuild collections whose files are missing, corrupt or stale, and by `rebuild()`
 * for one collection known to have missed writes.
 */
export interface RebuildSource {
  /** The current version of a collection's content; compared with the version saved beside the index. */
  version(key: string): Promise<string | undefined>;
  /** Every point of the collection, in batches. */
  points(key: string): AsyncIterable<VectorPoint[]>;
  /**
   * Every collection the source knows; with its current version when it is read in the same go
   * (`sourceVersions()` then needs one call instead of one per collection).
   */
  collections(): Promise<{ key: string; dimensions: number; version?: string }[]>;
}

export interface EmbeddedVectorStoreOptions {
  /** Directory holding one sub-directory per collection. */
  dir: string;
  /**
   * How often collections changed since their last save are written to disk. Writes in between are
   * lost on a crash; the source's version tells `reconcile()` to rebuild them.
   * @defaultValue 5000
   */
  saveEveryMs?: number;
  /** Where collections are rebuilt from; without one, only what is on disk is loaded. */
  source?: RebuildSource;
  /** Rebuilds, collections that could not be loaded, failed background saves. @defaultValue silent */
  log?: VectorStoreLog;
  /** How widely search looks (see `SearchTuning`). @defaultValue EMBEDDED_SEARCH_TUNING */
  search?: Partial<SearchTuning>;
}

/**
 * The embedded store's search plan: the shared one, with a higher exact bound because this store
 * scans a flat copy of the vectors (see `FlatCopy`) rather than a database table or the graph.
 * 2^23 floats is 16,384 points of 512 dimensions (32 MB of flat copy at most per collection).
 * Measured on this machine (2 shared cores, loaded, 512-d, one thread): usearch's `exactSearch`
 * scans a row in 0.10–0.20 µs; `bench:recall` gave exact p50 0.37 ms at 4,000 points, 0.93–0.97 ms
 * at 10,000 and 1.96–2.40 ms at 16,000, against 0.22–0.84 ms for HNSW with a candidate list of k
 * at the same sizes (the former exact path, a whole-graph walk, took 2–2.7 ms at 4,000). Above the
 * bound, HNSW with the wider candidate list: 1.2–2.4 ms at 40,000, and duplicate-heavy recall@10
 * 0.37 there (see the README).
 */
export const EMBEDDED_SEARCH_TUNING: Readonly<SearchTuning> = Object.freeze({
  ...DEFAULT_SEARCH_TUNING,
  exactMaxFloats: 8_388_608,
});

export interface RebuiltCollection {
  key: string;
  /** Why it was rebuilt: files missing or unreadable, other dimensions, another version. */
  reason: string;
  count: number;
  /** The source's version read before the points: the rebuilt content reflects at least it. */
  version: string | undefined;
}

interface Entry {
  key: bigint;
  payload: Payload;
}

interface Collection {
  readonly key: string;
  readonly dimensions: number;
  readonly index: Index;
  readonly byId: Map<string, Entry>;
  readonly idByKey: Map<bigint, string>;
  /**
   * Every point's vector, for exact search; kept while the collection fits the exact bound. Dropped
   * when it outgrows the bound; a collection that shrinks back under it without one (or was saved
   * without one) is searched by walking its whole graph until it is rebuilt from the source.
   */
  flat: FlatCopy | undefined;
  nextKey: bigint;
  version: string | undefined;
  /** Changed since the last save started. */
  dirty: boolean;
  /** When the last save finished, and how long it took (ms). */
  savedAt: number;
  saveMs: number;
}

/**
 * Periodic saves may take at most this share of the process's time: a save writes the whole index
 * and its sidecar (and checksums them), which grows with the collection (a quarter of a second at
 * 100,000 points), so a big collection that changes all the time is saved less often than
 * `saveEveryMs`. Anything newer than the last save comes back from the rebuild source (or the
 * index log) after a crash.
 */
const PERIODIC_SAVE_MAX_SHARE = 0.05;

/** Whether a changed collection is due for a periodic save at `now` (ms), given its last save. */
export function periodicSaveDue(now: number, last: { savedAt: number; saveMs: number }): boolean {
  return now - last.savedAt >= last.saveMs / PERIODIC_SAVE_MAX_SHARE;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Half-precision vectors and a moderate construction beam: measured on 512-d clustered unit vectors
 * (2 cores), inserts take 0.14 ms instead of 0.55 ms (f32, expansion_add 128) and searches 0.15 ms,
 * with recall@10 unchanged at 1.0; scores carry the f16 rounding (about 1e-3). int8 was faster still
 * but lost recall (0.83).
 *
 * That recall holds for spread-out data only. Among thousands of near-identical vectors (templated
 * rows, retweets: use-lite puts "templated row number N" at cosine 0.87–0.97 to each other) HNSW
 * loses the points that are unlike the crowd, even queried with their own vector: usearch keeps a
 * neighbour only if it is closer to the node than to every neighbour already kept (the paper's
 * diversity heuristic, with no back-fill of pruned links), so each crowded node keeps one or two
 * crowd members plus whatever else survives, and as the crowd grows the reverse-link refinements
 * drop the crowd's links out to the few distinct points. A search entering the crowd (the entry
 * point is almost surely in it) sees every crowd member at about the same distance from the query,
 * finds no gradient, and stops once its candidate list is full: with 20 distinct sentences and
 * 2,000 templated rows, 6–10 of the 20 came back, for k = 10 and k = 100 alike. More connectivity
 * or a wider construction beam only shrank the loss (16/20 at connectivity 32, 18/20 at
 * expansion_add 256, for 2–3× the insert cost), and at 20,000 crowded points a search breadth of
 * 1,000 still found 6/20. The points are reachable (a search keeping every node as a candidate
 * finds all 20), so search walks the whole graph where that is cheap (`planSearch`'s exact case)
 * and widens its candidate list elsewhere; the graph settings stay as measured for insert cost.
 */
function newIndex(dimensions: number): Index {
  return new Index({
    dimensions,
    metric: MetricKind.Cos,
    quantization: ScalarKind.F16,
    connectivity: 16,
    expansion_add: 64,
    expansion_search: 64,
    multi: false,
  });
}

/** Points of `dimensions` a collection may hold and still be searched exactly. */
const exactMaxRows = (tuning: Readonly<SearchTuning>, dimensions: number): number =>
  Math.floor(tuning.exactMaxFloats / dimensions);

function newCollection(key: string, dimensions: number, tuning: Readonly<SearchTuning>): Collection {
  const maxRows = exactMaxRows(tuning, dimensions);
  return {
    key,
    dimensions,
    index: newIndex(dimensions),
    byId: new Map(),
    idByKey: new Map(),
    flat: maxRows > 0 ? new FlatCopy(dimensions, maxRows) : undefined,
    nextKey: 1n,
    version: undefined,
    dirty: true,
    savedAt: 0,
    saveMs: 0,
  };
}

/**
 * usearch 2.26's multi-threaded `add` leaves a few nodes unreachable from the graph's entry point
 * (they are never returned, not even for their own vector), so inserts run on one thread.
 */
const ADD_THREADS = 1;
const SEARCH_THREADS = 1;

/**
 * Vector indexes in process: one usearch HNSW index (cosine) per collection, saved under
 * `dir/<key>/` with a sidecar holding ids, payloads and the source version. Saves happen every
 * `saveEveryMs` for changed collections and on `flush()`/`close()`; anything newer is rebuilt from
 * the `RebuildSource` on the next open. One process per directory.
 */
export class EmbeddedVectorStore implements VectorStore {
  readonly kind = 'embedded';
  private readonly collections = new Map<string, Collection>();
  /** Why a collection on disk could not be loaded, for the rebuild log. */
  private readonly unreadable = new Map<string, string>();
  /** Disk work per collection key, run one after another. */
  private readonly diskQueue = new Map<string, Promise<void>>();
  private readonly log: VectorStoreLog;
  private readonly tuning: Readonly<SearchTuning>;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly dir: string,
    private readonly source: RebuildSource | undefined,
    log: VectorStoreLog | undefined,
    tuning: Partial<SearchTuning> | undefined,
  ) {
    this.log = log ?? (() => undefined);
    this.tuning = searchTuning({ ...EMBEDDED_SEARCH_TUNING, ...tuning });
  }

  /** Loads every collection in `dir`, rebuilds what the source says is missing or stale, and starts saving. */
  static async open(options: EmbeddedVectorStoreOptions): Promise<EmbeddedVectorStore> {
    const saveEveryMs = options.saveEveryMs ?? 5000;
    if (!Number.isFinite(saveEveryMs) || saveEveryMs <= 0) {
      throw new VectorStoreError(`saveEveryMs must be a positive number, not ${saveEveryMs}`);
    }
    const store = new EmbeddedVectorStore(options.dir, options.source, options.log, options.search);
    await mkdir(options.dir, { recursive: true });
    await store.loadAll();
    await store.reconcile();
    store.timer = setInterval(() => void store.saveDirty(), saveEveryMs);
    // Saving is housekeeping: it must not keep the process alive.
    store.timer.unref();
    return store;
  }

  /**
   * Rebuilds from the source every collection it knows whose files were missing or unreadable, whose
   * dimensions differ, or whose saved version differs from `source.version(key)`. Writes that race
   * with a rebuild are superseded by it; the version check on the next reconcile catches them.
   * Throws (after trying every collection) if any rebuild failed.
   */
  async reconcile(): Promise<RebuiltCollection[]> {
    this.assertOpen();
    if (this.source === undefined) return [];
    const rebuilt: RebuiltCollection[] = [];
    const failed: string[] = [];
    for (const { key, dimensions } of await this.source.collections()) {
      try {
        assertCollectionKey(key);
        assertDimensions(dimensions);
        // Read the version before the points: a write landing in between leaves the saved version
        // older than the content, which costs a rebuild next time rather than hiding the write.
        const version = await this.source.version(key);
        const reason = this.staleReason(key, dimensions, version);
        if (reason === undefined) continue;
        rebuilt.push(await this.rebuildFrom(this.source, key, dimensions, version, reason));
      } catch (err) {
        failed.push(key);
        this.log(`Failed to rebuild vector collection ${key} from source: ${errorMessage(err)}`);
      }
    }
    if (failed.length > 0) {
      throw new VectorStoreError(`Failed to rebuild vector collections from source: ${failed.join(', ')}`);
    }
    return rebuilt;
  }

  /**
   * Rebuilds one collection from the source whatever its state (its writes were missed: a log entry
   * lost or not applied), reading the version before the points as `reconcile()` does. Searches see
   * the old content until the new one is complete; writes to the collection while this runs are
   * superseded by it, so the caller holds them back and applies those newer than the returned
   * version afterwards. Undefined when the source no longer knows the collection.
   */
  async rebuild(key: string, reason: string): Promise<RebuiltCollection | undefined> {
    this.assertOpen();
    assertCollectionKey(key);
    if (this.source === undefined) throw new VectorStoreError('This store has no rebuild source');
    const known = (await this.source.collections()).find((c) => c.key === key);
    if (known === undefined) return undefined;
    assertDimensions(known.dimensions);
    const version = await this.source.version(key);
    return this.rebuildFrom(this.source, key, known.dimensions, version, reason);
  }

  /** The source version a collection reflects (loaded, rebuilt or recorded); undefined when unknown. */
  versionOf(key: string): string | undefined {
    this.assertOpen();
    assertCollectionKey(key);
    return this.collections.get(key)?.version;
  }

  /** Every collection's current version in the source, to compare with `versionOf()`. */
  async sourceVersions(): Promise<Map<string, string | undefined>> {
    this.assertOpen();
    const versions = new Map<string, string | undefined>();
    if (this.source === undefined) return versions;
    for (const { key, version } of await this.source.collections()) {
      versions.set(key, version ?? (await this.source.version(key)));
    }
    return versions;
  }

  /** Records the source version the collection now reflects; saved with the next save. */
  setVersion(key: string, version: string): void {
    const collection = this.require(key);
    if (typeof version !== 'string') throw new VectorStoreError('The version must be a string');
    collection.version = version;
    collection.dirty = true;
  }

  ensureCollection(key: string, dimensions: number): Promise<void> {
    return promised(() => {
      this.assertOpen();
      assertCollectionKey(key);
      assertDimensions(dimensions);
      const existing = this.collections.get(key);
      if (existing === undefined) {
        this.collections.set(key, newCollection(key, dimensions, this.tuning));
      } else if (existing.dimensions !== dimensions) {
        throw new VectorStoreError(
          `Collection ${key} has ${existing.dimensions} dimensions, not ${dimensions}`,
          'dimension_mismatch',
        );
      }
    });
  }

  upsert(key: string, points: VectorPoint[]): Promise<void> {
    return promised(() => this.insert(this.require(key), points));
  }

  delete(key: string, ids: string[]): Promise<number> {
    return promised(() => this.remove(this.require(key), ids));
  }

  /**
   * Exact on collections of at most `search.exactMaxFloats` points × dimensions (16,384 points of
   * 512 dimensions by default): every point of the flat copy is scored (float32, so scores carry no
   * f16 rounding) and ranked like brute force. Larger collections get an HNSW search whose
   * candidate list is `max(k × breadthPerK, minBreadth)` (capped at 1,000) rather than k; among
   * crowds of near-identical vectors that still misses points (see `newIndex` and the README). With
   * a filter, over-fetches from there (×4, then ×4 again, up to the whole collection) until k
   * candidates match, so hits always match the filter.
   */
  search(key: string, query: SearchQuery): Promise<SearchHit[]> {
    return promised(() => this.find(this.require(key), query));
  }

  info(key: string): Promise<CollectionInfo | undefined> {
    return promised(() => {
      this.assertOpen();
      assertCollectionKey(key);
      const collection = this.collections.get(key);
      return collection && this.infoOf(collection);
    });
  }

  list(prefix?: string): Promise<CollectionInfo[]> {
    return promised(() => {
      this.assertOpen();
      assertPrefix(prefix);
      return [...this.collections.values()]
        .filter((collection) => collection.key.startsWith(prefix ?? ''))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .map((collection) => this.infoOf(collection));
    });
  }

  async dropCollection(key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(key);
    this.collections.delete(key);
    this.unreadable.delete(key);
    // Queued after any save of the collection, and before any save of a collection re-created under the key.
    await this.onDisk(key, () => rm(path.join(this.dir, key), { recursive: true, force: true }));
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.saveAll();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.saveAll();
  }

  private remove(collection: Collection, ids: string[]): number {
    const keys: bigint[] = [];
    for (const id of uniqueIds(ids)) {
      const entry = collection.byId.get(id);
      if (entry === undefined) continue;
      keys.push(entry.key);
      collection.byId.delete(id);
      collection.idByKey.delete(entry.key);
      collection.flat?.remove(id);
    }
    if (keys.length > 0) {
      collection.index.remove(BigUint64Array.from(keys));
      collection.dirty = true;
    }
    return keys.length;
  }

  private find(collection: Collection, query: SearchQuery): SearchHit[] {
    const filter = assertQuery(query, collection.dimensions);
    const count = collection.byId.size;
    const hits: SearchHit[] = [];
    if (count === 0) return hits;
    const plan = planSearch(count, collection.dimensions, query.k, this.tuning);
    const flat = collection.flat;
    if (plan.exact && flat !== undefined) {
      // A scan costs the same for any count; the count only sizes the partial sort.
      let fetch = Math.min(count, filter.length > 0 ? query.k * 4 : query.k);
      for (;;) {
        const matches = flat.search(query.vector, fetch);
        hits.length = 0;
        for (let i = 0; i < matches.ids.length && hits.length < query.k; i++) {
          const id = matches.ids[i] as string;
          const entry = collection.byId.get(id);
          if (entry === undefined || !matchesFilter(entry.payload, filter)) continue;
          hits.push({ id, score: matches.scores[i] as number, payload: { ...entry.payload } });
        }
        if (hits.length >= query.k || fetch >= count) return hits;
        fetch = Math.min(count, fetch * 4);
      }
    }
    // usearch searches with a candidate list of max(expansion_search, count): asking for more
    // results is how one search gets a wider beam, and asking for every point makes it exhaustive
    // (the exact plan's fallback for a collection without a flat copy).
    let fetch = plan.exact
      ? count
      : Math.min(count, Math.max(plan.breadth, filter.length > 0 ? query.k * 4 : query.k));
    for (;;) {
      const matches = collection.index.search(query.vector, fetch, SEARCH_THREADS);
      hits.length = 0;
      for (let i = 0; i < matches.keys.length && hits.length < query.k; i++) {
        const id = collection.idByKey.get(matches.keys[i] as bigint);
        const entry = id === undefined ? undefined : collection.byId.get(id);
        if (id === undefined || entry === undefined || !matchesFilter(entry.payload, filter)) continue;
        hits.push({ id, score: 1 - (matches.distances[i] as number), payload: { ...entry.payload } });
      }
      if (hits.length >= query.k || fetch >= count || matches.keys.length < fetch) break;
      fetch = Math.min(count, fetch * 4);
    }
    return hits;
  }

  private assertOpen(): void {
    if (this.closed) throw new VectorStoreError('The vector store is closed', 'closed');
  }

  private require(key: string): Collection {
    this.assertOpen();
    assertCollectionKey(key);
    const collection = this.collections.get(key);
    if (collection === undefined) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    return collection;
  }

  private infoOf(collection: Collection): CollectionInfo {
    return { key: collection.key, dimensions: collection.dimensions, count: collection.byId.size };
  }

  private async rebuildFrom(
    source: RebuildSource,
    key: string,
    dimensions: number,
    version: string | undefined,
    reason: string,
  ): Promise<RebuiltCollection> {
    const started = Date.now();
    const fresh = newCollection(key, dimensions, this.tuning);
    fresh.version = version;
    for await (const batch of source.points(key)) {
      // Closed meanwhile (shutting down): what is on disk stays, and the next open reconciles it.
      this.assertOpen();
      this.insert(fresh, batch);
    }
    this.assertOpen();
    this.collections.set(key, fresh);
    this.unreadable.delete(key);
    await this.save(fresh);
    this.log(
      `Rebuilt vector collection ${key} from source (${reason}): ${fresh.byId.size} points in ${Date.now() - started} ms`,
    );
    return { key, reason, count: fresh.byId.size, version };
  }

  private staleReason(key: string, dimensions: number, version: string | undefined): string | undefined {
    const current = this.collections.get(key);
    if (current === undefined) return this.unreadable.get(key) ?? 'no files on disk';
    if (current.dimensions !== dimensions) {
      return `dimensions ${current.dimensions} on disk, ${dimensions} in source`;
    }
    if (current.version !== version) {
      return `version ${current.version ?? '(none)'} on disk, ${version ?? '(none)'} in source`;
    }
    if (current.flat === undefined && current.byId.size <= exactMaxRows(this.tuning, dimensions)) {
      return 'no flat copy of its vectors for exact search';
    }
    return undefined;
  }

  private insert(collection: Collection, points: VectorPoint[]): void {
    const latest = latestPointPerId(points, collection.dimensions);
    if (latest.length === 0) return;
    const replaced: bigint[] = [];
    for (const point of latest) {
      const entry = collection.byId.get(point.id);
      if (entry !== undefined) replaced.push(entry.key);
    }
    const flat = collection.flat;
    if (flat !== undefined && collection.byId.size + latest.length - replaced.length > flat.maxRows) {
      // Outgrown: from here on the collection is searched on HNSW, and the memory is given back.
      collection.flat = undefined;
    }
    const keys = new BigUint64Array(latest.length);
    const vectors = new Float32Array(latest.length * collection.dimensions);
    latest.forEach((point, i) => {
      keys[i] = collection.nextKey++;
      vectors.set(point.vector, i * collection.dimensions);
    });
    if (replaced.length > 0) collection.index.remove(BigUint64Array.from(replaced));
    collection.index.add(keys, vectors, ADD_THREADS);
    latest.forEach((point, i) => {
      const key = keys[i] as bigint;
      const previous = collection.byId.get(point.id);
      if (previous !== undefined) collection.idByKey.delete(previous.key);
      collection.byId.set(point.id, { key, payload: { ...point.payload } });
      collection.idByKey.set(key, point.id);
      collection.flat?.set(point.id, point.vector);
    });
    collection.dirty = true;
  }

  private async loadAll(): Promise<void> {
    const names = await readdir(this.dir, { withFileTypes: true });
    for (const dirent of names) {
      if (!dirent.isDirectory() || !COLLECTION_KEY_PATTERN.test(dirent.name)) continue;
      const key = dirent.name;
      try {
        this.collections.set(key, await this.load(key));
      } catch (err) {
        const reason =
          err instanceof CollectionFilesError ? err.reason : `unreadable: ${(err as Error).message}`;
        this.unreadable.set(key, reason);
        this.log(`Vector collection ${key} on disk could not be loaded: ${reason}`);
      }
    }
  }

  private async load(key: string): Promise<Collection> {
    const { header, entries, indexPath, flat } = await readCollectionFiles(path.join(this.dir, key), key);
    const index = newIndex(header.dimensions);
    index.load(indexPath);
    if (index.dimensions() !== header.dimensions || index.size() !== entries.length) {
      throw new CollectionFilesError(
        `the index holds ${index.size()} vectors of ${index.dimensions()} dimensions, the sidecar ${entries.length} of ${header.dimensions}`,
      );
    }
    const collection: Collection = {
      key,
      dimensions: header.dimensions,
      index,
      byId: new Map(entries.map(([id, entryKey, payload]) => [id, { key: entryKey, payload }])),
      idByKey: new Map(entries.map(([id, entryKey]) => [entryKey, id])),
      flat: this.loadedFlat(header.dimensions, entries, flat),
      nextKey: BigInt(header.nextKey),
      version: header.version ?? undefined,
      dirty: false,
      savedAt: 0,
      saveMs: 0,
    };
    const held = index.contains(BigUint64Array.from(entries, ([, entryKey]) => entryKey)) as boolean[];
    if (held.some((contained) => !contained)) {
      throw new CollectionFilesError('the sidecar lists a point the index does not hold');
    }
    return collection;
  }

  /**
   * The saved flat copy (rows in sidecar order), or an empty one for an empty collection; none when
   * none was saved or the collection exceeds the exact bound (`staleReason` has it rebuilt when it
   * fits the bound but has no copy).
   */
  private loadedFlat(
    dimensions: number,
    entries: CollectionEntry[],
    vectors: Float32Array | undefined,
  ): FlatCopy | undefined {
    const maxRows = exactMaxRows(this.tuning, dimensions);
    if (maxRows === 0 || entries.length > maxRows) return undefined;
    if (vectors === undefined) return entries.length === 0 ? new FlatCopy(dimensions, maxRows) : undefined;
    return new FlatCopy(dimensions, maxRows, { ids: entries.map(([id]) => id), vectors });
  }

  private onDisk(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.diskQueue.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.diskQueue.set(key, next);
    const forget = (): void => {
      if (this.diskQueue.get(key) === next) this.diskQueue.delete(key);
    };
    next.then(forget, forget);
    return next;
  }

  private save(collection: Collection): Promise<void> {
    return this.onDisk(collection.key, async () => {
      // Dropped (or dropped and re-created) while this save waited its turn.
      if (this.collections.get(collection.key) !== collection || !collection.dirty) return;
      const started = performance.now();
      const dir = path.join(this.dir, collection.key);
      await mkdir(dir, { recursive: true });
      if (this.collections.get(collection.key) !== collection) return;
      // The index, the flat copy and the sidecar snapshot are taken in the same tick, so they
      // describe the same state; the sidecar lists points in the flat copy's row order.
      // Payload objects are replaced on upsert, never mutated, so sharing them with the snapshot is safe.
      collection.index.save(tmpIndexPath(dir));
      const flat = collection.flat;
      const flatBytes = flat?.bytes();
      const entryOf = (id: string): CollectionEntry => {
        const entry = collection.byId.get(id) as Entry;
        return [id, entry.key, entry.payload];
      };
      const snapshot: CollectionSnapshot = {
        key: collection.key,
        dimensions: collection.dimensions,
        version: collection.version,
        nextKey: collection.nextKey,
        entries: flat ? flat.rowIds().map(entryOf) : Array.from(collection.byId.keys(), entryOf),
        flat: flat !== undefined,
      };
      collection.dirty = false;
      try {
        if (flatBytes !== undefined) await writeFile(tmpFlatPath(dir), flatBytes);
        await commitCollectionFiles(dir, snapshot);
      } catch (err) {
        collection.dirty = true;
        throw err;
      }
      collection.savedAt = performance.now();
      collection.saveMs = collection.savedAt - started;
    });
  }

  private async saveAll(): Promise<void> {
    const results = await Promise.allSettled([...this.collections.values()].map((c) => this.save(c)));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async saveDirty(): Promise<void> {
    const due = [...this.collections.values()].filter(
      (c) => c.dirty && periodicSaveDue(performance.now(), c),
    );
    for (const collection of due) {
      try {
        await this.save(collection);
      } catch (err) {
        this.log(`Failed to save vector collection ${collection.key}: ${errorMessage(err)}`);
      }
    }
  }
}
