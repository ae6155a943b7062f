import { mkdir, open as openFile, readdir, rm } from 'node:fs/promises';
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
import { FlatCopy, scanRows } from './flat-copy';
import { readAliasFile, writeAliasFile } from './alias-file';
import {
  angleOf,
  BestHits,
  capBound,
  FOLD_MIN_COSINE,
  LARGE_GROUP_SIZE,
  unitVector,
} from '../near-duplicates';
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
 * scans float32 copies of its vectors (see `FlatCopy`) rather than a database table or the graph.
 * 2^23 floats is 16,384 points of 512 dimensions. Measured on this machine (2 shared cores, loaded,
 * 512-d, one thread): usearch's `exactSearch` scans a row in 0.10–0.20 µs; `bench:recall` gave
 * exact p50 0.33–0.37 ms at 4,000 points, 0.84–0.87 ms at 10,000 and 1.4–1.6 ms at 16,000. Above
 * the bound, the graph with the wider candidate list and the groups it reaches: 1.6 ms at 40,000
 * ordinary points, 4.6 ms at 40,000 duplicate-heavy ones (the crowd of 39,800 is scanned for every
 * query its bound cannot rule out), recall@10 1.0 on both (see the README).
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
  /** The near-duplicate group this point is a member of; undefined for a point in the graph. */
  group?: Group;
}

/**
 * Points within `FOLD_MIN_COSINE` of a point in the graph, kept beside it rather than in the graph:
 * a search that reaches the representative scores the members exactly (see `find`).
 */
interface Group {
  /** The representative: the group's one point in the graph (its vector is in `reps`). */
  rep: string;
  /** The other members' unit vectors. */
  members: FlatCopy;
  /** An upper bound (radians) on the angle between the representative and any member. */
  radius: number;
}

interface Collection {
  readonly key: string;
  readonly dimensions: number;
  /** The HNSW graph over the representatives: every point that is not a group member. */
  readonly index: Index;
  readonly byId: Map<string, Entry>;
  readonly idByKey: Map<bigint, string>;
  /** The representatives' unit vectors (float32), for exact scores and exact search. */
  readonly reps: FlatCopy;
  /** Near-duplicate groups by representative id (only representatives with members). */
  readonly groups: Map<string, Group>;
  /** Groups of at least `LARGE_GROUP_SIZE` members, which every search considers. */
  readonly large: Set<Group>;
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

/** Writes byte arrays one after another to a new file. */
async function writeRows(file: string, rows: Uint8Array[]): Promise<void> {
  const handle = await openFile(file, 'w');
  try {
    // Each call appends at the handle's position, and writes the whole array.
    for (const bytes of rows) await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
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
 * 1,000 still found 6/20, and recall@10 against exact search was 0.37 at 40,000 points.
 *
 * So the crowd stays out of the graph: a point within `FOLD_MIN_COSINE` of the nearest point
 * already in the graph joins that point's near-duplicate group instead (see `Group`), and the graph
 * holds one representative per group. A search scores the representatives it reaches exactly, then
 * scans (float32, exactly) each group whose members could still rank among the best k: the
 * members lie within the group's radius of the representative, so none can score above
 * cos(max(0, angle(query, representative) − radius)). Groups of `LARGE_GROUP_SIZE` or more
 * are checked even when the graph did not return their representative. The graph settings stay as
 * measured for insert cost.
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

function newCollection(key: string, dimensions: number, index = newIndex(dimensions)): Collection {
  return {
    key,
    dimensions,
    index,
    byId: new Map(),
    idByKey: new Map(),
    reps: new FlatCopy(dimensions),
    groups: new Map(),
    large: new Set(),
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
 * An embedded store: the VectorStore port plus what the index log consumer needs to keep it in
 * step with the source (versions, rebuilds). Implemented in process (`EmbeddedVectorStore`) and on
 * a worker thread (`ThreadedEmbeddedVectorStore`).
 */
export interface EmbeddedStore extends VectorStore {
  readonly kind: 'embedded';
  reconcile(): Promise<RebuiltCollection[]>;
  rebuild(key: string, reason: string): Promise<RebuiltCollection | undefined>;
  versionOf(key: string): string | undefined;
  sourceVersions(): Promise<Map<string, string | undefined>>;
  setVersion(key: string, version: string): void;
}

/**
 * Vector indexes in process: one usearch HNSW index (cosine) per collection, saved under
 * `dir/<key>/` with a sidecar holding ids, payloads and the source version. Saves happen every
 * `saveEveryMs` for changed collections and on `flush()`/`close()`; anything newer is rebuilt from
 * the `RebuildSource` on the next open. One process per directory.
 *
 * Aliases live in a map beside the collections, so `alias()` switches every later call by the
 * alias at once (calls run one at a time). They are saved in `dir/aliases.json` before `alias()`
 * and `dropAlias()` resolve, and loaded on open, where an alias whose collection did not come
 * back is dropped (logged). A crash can still lose the switch being saved: the database's pointer
 * row is the source of truth, and its owner re-establishes aliases at start (`alias()` is idempotent).
 */
export class EmbeddedVectorStore implements EmbeddedStore {
  readonly kind = 'embedded';
  private readonly collections = new Map<string, Collection>();
  /** Alias name → collection key. */
  private aliases = new Map<string, string>();
  /** The latest save of the aliases file; saves run one after another, each writing the map as it is then. */
  private aliasSave: Promise<void> = Promise.resolve();
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
    await store.loadAliases();
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

  /** Every collection held, with the source version it reflects (see `versionOf()`). */
  versions(): Map<string, string | undefined> {
    return new Map([...this.collections].map(([key, collection]) => [key, collection.version]));
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
      // By an alias's name: the collection it names, which exists.
      const existing = this.resolve(key);
      if (existing === undefined) {
        this.collections.set(key, newCollection(key, dimensions));
      } else if (existing.dimensions !== dimensions) {
        throw new VectorStoreError(
          `Collection ${key} has ${existing.dimensions} dimensions, not ${dimensions}`,
          'dimension_mismatch',
        );
      }
    });
  }

  upsert(key: string, points: VectorPoint[]): Promise<void> {
    return promised(() => this.insert(this.reach(key), points));
  }

  delete(key: string, ids: string[]): Promise<number> {
    return promised(() => this.remove(this.reach(key), ids));
  }

  /**
   * Exact on collections of at most `search.exactMaxFloats` points × dimensions (16,384 points of
   * 512 dimensions by default): every representative is scored and every group whose bound allows
   * it is scanned, which ranks like brute force. Larger collections find representatives on the
   * HNSW graph with a candidate list of `max(k × breadthPerK, minBreadth)` (capped at 1,000), then
   * scan the groups that could still rank (see `newIndex`). Scores are float32 cosines either way
   * (the graph's f16 distances only choose candidates). With a filter, over-fetches (×4, then ×4
   * again, up to everything) until k candidates match, so hits always match the filter.
   */
  search(key: string, query: SearchQuery): Promise<SearchHit[]> {
    return promised(() => this.find(this.reach(key), query));
  }

  info(key: string): Promise<CollectionInfo | undefined> {
    return promised(() => {
      this.assertOpen();
      assertCollectionKey(key);
      const collection = this.resolve(key);
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
    const named = [...this.aliases].filter(([, target]) => target === key);
    for (const [alias] of named) this.aliases.delete(alias);
    const aliasesSaved = named.length > 0 ? this.saveAliases() : Promise.resolve();
    // Queued after any save of the collection, and before any save of a collection re-created under the key.
    await this.onDisk(key, () => rm(path.join(this.dir, key), { recursive: true, force: true }));
    await aliasesSaved;
  }

  async alias(alias: string, key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    assertCollectionKey(key);
    if (!this.collections.has(key)) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    if (this.collections.has(alias)) {
      throw new VectorStoreError(`${alias} is a collection's key; an alias needs a name of its own`);
    }
    this.aliases.set(alias, key);
    await this.saveAliases();
  }

  async dropAlias(alias: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    if (this.aliases.delete(alias)) await this.saveAliases();
  }

  async flush(): Promise<void> {
    this.assertOpen();
    await this.saveAll();
    await this.aliasSave;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.saveAll();
    await this.aliasSave;
  }

  /** Saves the aliases as they are once the saves before it are done; resolves when this one is on disk. */
  private saveAliases(): Promise<void> {
    const save = this.aliasSave.catch(() => undefined).then(() => writeAliasFile(this.dir, this.aliases));
    this.aliasSave = save;
    return save;
  }

  /** Loads the saved aliases, dropping those whose collection is gone (or whose name a collection took). */
  private async loadAliases(): Promise<void> {
    let saved: Map<string, string>;
    try {
      saved = await readAliasFile(this.dir);
    } catch (err) {
      this.log(
        `Vector collection aliases on disk could not be loaded, starting without: ${errorMessage(err)}`,
      );
      saved = new Map();
    }
    const stale = [...saved].filter(
      ([alias, key]) => !this.collections.has(key) || this.collections.has(alias),
    );
    for (const [alias, key] of stale) {
      saved.delete(alias);
      this.log(
        `Dropped vector collection alias ${alias}: it named ${key}, which is not loaded or is shadowed`,
      );
    }
    this.aliases = saved;
    if (stale.length > 0) await this.saveAliases();
  }

  /** The collection `name` is the key of, or else the one the alias `name` names. */
  private resolve(name: string): Collection | undefined {
    const collection = this.collections.get(name);
    if (collection !== undefined) return collection;
    const target = this.aliases.get(name);
    return target === undefined ? undefined : this.collections.get(target);
  }

  /** Like `require`, by a collection's key or an alias's name. */
  private reach(name: string): Collection {
    this.assertOpen();
    assertCollectionKey(name);
    const collection = this.resolve(name);
    if (collection === undefined) {
      throw new VectorStoreError(`Unknown vector collection ${name}`, 'unknown_collection');
    }
    return collection;
  }

  private remove(collection: Collection, ids: string[]): number {
    let removed = 0;
    for (const id of uniqueIds(ids)) {
      const entry = collection.byId.get(id);
      if (entry === undefined) continue;
      removed++;
      collection.byId.delete(id);
      collection.idByKey.delete(entry.key);
      const group = entry.group;
      if (group !== undefined) {
        group.members.remove(id);
        this.resized(collection, group);
        continue;
      }
      collection.index.remove(entry.key);
      const vector = collection.reps.row(id);
      collection.reps.remove(id);
      const own = collection.groups.get(id);
      if (own !== undefined) this.promote(collection, own, vector);
    }
    if (removed > 0) collection.dirty = true;
    return removed;
  }

  /**
   * A group whose representative left: the member nearest to it takes its place in the graph, and
   * the radius is measured again from there.
   */
  private promote(collection: Collection, group: Group, former: Float32Array): void {
    collection.groups.delete(group.rep);
    collection.large.delete(group);
    const heir = group.members.searchUnit(former, 1).ids[0] as string;
    const vector = group.members.row(heir);
    group.members.remove(heir);
    const entry = collection.byId.get(heir) as Entry;
    entry.group = undefined;
    collection.reps.set(heir, vector);
    collection.index.add(entry.key, vector, ADD_THREADS);
    if (group.members.size === 0) return;
    group.rep = heir;
    group.radius = angleOf(group.members.lowestScore(vector));
    collection.groups.set(heir, group);
    this.resized(collection, group);
  }

  /** Keeps `groups` and `large` in step with a group's size after members joined or left. */
  private resized(collection: Collection, group: Group): void {
    if (group.members.size === 0) {
      collection.groups.delete(group.rep);
      collection.large.delete(group);
    } else if (group.members.size >= LARGE_GROUP_SIZE) {
      collection.large.add(group);
    } else {
      collection.large.delete(group);
    }
  }

  private find(collection: Collection, query: SearchQuery): SearchHit[] {
    const filter = assertQuery(query, collection.dimensions);
    const count = collection.byId.size;
    if (count === 0) return [];
    const unit = unitVector(query.vector);
    const plan = planSearch(count, collection.dimensions, query.k, this.tuning);
    const best = new BestHits(query.k);
    const offer = (id: string, score: number): void => {
      const entry = collection.byId.get(id);
      if (entry !== undefined && matchesFilter(entry.payload, filter)) best.offer(id, score, entry.payload);
    };
    const first = filter.length > 0 ? query.k * 4 : query.k;
    const reps = collection.reps;
    // Representatives scored in this search (exactly, on their float32 rows).
    const scored = new Map<string, number>();
    if (plan.exact) {
      scanRows(reps, unit, first, best, offer);
    } else {
      // usearch searches with a candidate list of max(expansion_search, count): asking for more
      // results is how one search gets a wider beam.
      let fetch = Math.min(reps.size, Math.max(plan.breadth, first));
      for (;;) {
        const matches = collection.index.search(unit, fetch, SEARCH_THREADS);
        for (let i = 0; i < matches.keys.length; i++) {
          const id = collection.idByKey.get(matches.keys[i] as bigint);
          if (id === undefined || scored.has(id) || !reps.has(id)) continue;
          const score = reps.score(id, unit);
          scored.set(id, score);
          offer(id, score);
        }
        if (best.full || fetch >= reps.size || matches.keys.length < fetch) break;
        fetch = Math.min(reps.size, fetch * 4);
      }
    }
    // Groups that could still place a member among the best k, most promising first: every group
    // when searching exactly, else those of the representatives reached and the large ones.
    let candidates: Iterable<Group> = collection.groups.values();
    if (!plan.exact) {
      const reached = new Set(collection.large);
      for (const id of scored.keys()) {
        const group = collection.groups.get(id);
        if (group !== undefined) reached.add(group);
      }
      candidates = reached;
    }
    const bounded = Array.from(candidates, (group) => ({
      group,
      bound: capBound(scored.get(group.rep) ?? reps.score(group.rep, unit), group.radius),
    })).sort((x, y) => y.bound - x.bound);
    for (const { group, bound } of bounded) {
      if (best.full && bound <= best.floor) break;
      scanRows(group.members, unit, first, best, offer);
    }
    return best.hits();
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
    const fresh = newCollection(key, dimensions);
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
    return undefined;
  }

  private insert(collection: Collection, points: VectorPoint[]): void {
    const latest = latestPointPerId(points, collection.dimensions);
    if (latest.length === 0) return;
    // A new vector for a known id may belong elsewhere (another group, or the graph): out, then in.
    this.remove(
      collection,
      latest.filter((point) => collection.byId.has(point.id)).map((point) => point.id),
    );
    for (const point of latest) {
      const unit = unitVector(point.vector);
      const key = collection.nextKey++;
      const nearest = this.nearestRep(collection, unit);
      let group: Group | undefined;
      if (nearest !== undefined && nearest.score >= FOLD_MIN_COSINE) {
        group = collection.groups.get(nearest.id);
        if (group === undefined) {
          group = { rep: nearest.id, members: new FlatCopy(collection.dimensions), radius: 0 };
          collection.groups.set(nearest.id, group);
        }
        group.members.set(point.id, unit);
        group.radius = Math.max(group.radius, angleOf(nearest.score));
        this.resized(collection, group);
      } else {
        collection.index.add(key, unit, ADD_THREADS);
        collection.reps.set(point.id, unit);
      }
      collection.byId.set(point.id, { key, payload: { ...point.payload }, group });
      collection.idByKey.set(key, point.id);
    }
    collection.dirty = true;
  }

  /** The representative the graph finds nearest to a unit vector, with its exact cosine. */
  private nearestRep(collection: Collection, unit: Float32Array): { id: string; score: number } | undefined {
    if (collection.reps.size === 0) return undefined;
    const matches = collection.index.search(unit, 1, SEARCH_THREADS);
    const id = matches.keys.length > 0 ? collection.idByKey.get(matches.keys[0] as bigint) : undefined;
    if (id === undefined || !collection.reps.has(id)) return undefined;
    return { id, score: collection.reps.score(id, unit) };
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
    const { dimensions } = header;
    const index = newIndex(dimensions);
    index.load(indexPath);
    const collection = newCollection(key, dimensions, index);
    collection.nextKey = BigInt(header.nextKey);
    collection.version = header.version ?? undefined;
    collection.dirty = false;
    const repKeys: bigint[] = [];
    entries.forEach(([id, entryKey, payload, rep], row) => {
      const vector = flat.subarray(row * dimensions, (row + 1) * dimensions);
      let group: Group | undefined;
      if (rep === undefined) {
        collection.reps.set(id, vector);
        repKeys.push(entryKey);
      } else {
        const entry = collection.byId.get(rep);
        if (entry === undefined || entry.group !== undefined) {
          throw new CollectionFilesError(
            `point ${id}'s representative ${rep} is not listed before it in the graph`,
          );
        }
        group = collection.groups.get(rep);
        if (group === undefined) {
          group = { rep, members: new FlatCopy(dimensions), radius: 0 };
          collection.groups.set(rep, group);
        }
        group.members.set(id, vector);
      }
      collection.byId.set(id, { key: entryKey, payload, group });
      collection.idByKey.set(entryKey, id);
    });
    if (index.dimensions() !== dimensions || index.size() !== repKeys.length) {
      throw new CollectionFilesError(
        `the index holds ${index.size()} vectors of ${index.dimensions()} dimensions, the sidecar ${repKeys.length} of ${dimensions} outside groups`,
      );
    }
    const held = index.contains(BigUint64Array.from(repKeys)) as boolean[];
    if (held.some((contained) => !contained)) {
      throw new CollectionFilesError('the sidecar lists a point the index does not hold');
    }
    for (const group of collection.groups.values()) {
      group.radius = angleOf(group.members.lowestScore(collection.reps.row(group.rep)));
      this.resized(collection, group);
    }
    return collection;
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
      // The index, the vectors and the sidecar snapshot are taken in the same tick, so they
      // describe the same state: representatives first, then each group's members, the sidecar
      // in the rows' order. Payload objects are replaced on upsert, never mutated, so sharing them
      // with the snapshot is safe.
      collection.index.save(tmpIndexPath(dir));
      const rows = [collection.reps.bytes()];
      const entryOf = (id: string, rep?: string): CollectionEntry => {
        const entry = collection.byId.get(id) as Entry;
        return rep === undefined ? [id, entry.key, entry.payload] : [id, entry.key, entry.payload, rep];
      };
      const entries = collection.reps.rowIds().map((id) => entryOf(id));
      for (const group of collection.groups.values()) {
        rows.push(group.members.bytes());
        for (const id of group.members.rowIds()) entries.push(entryOf(id, group.rep));
      }
      const snapshot: CollectionSnapshot = {
        key: collection.key,
        dimensions: collection.dimensions,
        version: collection.version,
        nextKey: collection.nextKey,
        entries,
      };
      collection.dirty = false;
      try {
        await writeRows(tmpFlatPath(dir), rows);
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
