import type { QdrantClient as Client } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import {
  CollectionInfo,
  PayloadValue,
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
  promised,
  uniqueIds,
} from '../validation';
import { qdrantPointId } from './point-id';
import {
  fromQdrantPayload,
  payloadIndexType,
  qdrantFilter,
  qdrantKey,
  toQdrantPayload,
} from './qdrant-payload';
import { planSearch, SearchTuning, searchTuning } from '../search-plan';

// The package ships a CommonJS build (its `require` export) but only ESM type declarations, which a
// CommonJS module cannot import; the types come from the declarations, the class from the CommonJS build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { QdrantClient } = require('@qdrant/js-client-rest') as { QdrantClient: typeof Client };

export interface QdrantVectorStoreOptions {
  /** e.g. `http://127.0.0.1:6333`. */
  url: string;
  apiKey?: string;
  /** Warn when the server's version is incompatible with the client's. @defaultValue true */
  checkCompatibility?: boolean;
  /** Payload indexes that could not be created. @defaultValue silent */
  log?: VectorStoreLog;
  /** How widely search looks (see `SearchTuning`). @defaultValue DEFAULT_SEARCH_TUNING */
  search?: Partial<SearchTuning>;
}

/** Points per upsert request, bounded by floats so a request stays a few MB (Qdrant refuses > 32 MB). */
const MAX_POINTS_PER_REQUEST = 1000;
const MAX_FLOATS_PER_REQUEST = 256 * 1024;
/** How long a collection's approximate point count decides between exact and HNSW search. */
const SIZE_TTL_MS = 1000;

interface Known {
  dimensions: number;
  /** Payload keys known to have an index. */
  indexed: Set<string>;
  /** Approximate point count, and when it was read (ms). */
  size?: { count: number; at: number };
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function isNotFound(err: unknown): boolean {
  return (err as { status?: unknown } | null)?.status === 404;
}

/** A 400 answer's reason, as Qdrant words it (`{ status: { error } }`); undefined for other errors. */
function badRequest(err: unknown): string | undefined {
  const failure = err as { status?: unknown; data?: { status?: { error?: unknown } } } | null;
  if (failure?.status !== 400) return undefined;
  const reason = failure.data?.status?.error;
  return typeof reason === 'string' ? reason : errorMessage(err);
}

function vectorSize(info: Awaited<ReturnType<Client['getCollection']>>): number | undefined {
  const vectors = info.config.params.vectors;
  if (vectors !== undefined && 'size' in vectors && typeof vectors.size === 'number') return vectors.size;
  return undefined;
}

/**
 * Collections as Qdrant collections (cosine) named by the key. Qdrant point ids must be integers or
 * UUIDs, so a point's id becomes a UUID v5 of it and the original id is kept in payload field `_id`
 * (payload keys Qdrant would misread are stored encoded, see `qdrantKey`). Payload indexes (keyword,
 * bool, float) are created the first time a key is filtered on.
 * `list()` shows every collection on the server whose name is a valid key.
 *
 * Aliases are Qdrant's collection aliases: `alias()` sends `delete_alias` and `create_alias` in one
 * `POST /collections/aliases`, which Qdrant applies while holding its collections' write lock, so
 * no request sees the alias half switched; Qdrant resolves aliases itself in every request on a
 * collection. What this adapter caches per name (dimensions, payload indexes) can go stale when
 * another process switches an alias between collections: a query whose dimensions disagree with
 * the cache is checked against a fresh read before it is refused, and a payload index missing on
 * the new collection only makes its filters slower (the adapter creates indexes per name once).
 *
 * Search asks for `exact: true` on a collection of at most `search.exactMaxFloats` points ×
 * dimensions (by Qdrant's approximate count, re-read at most once a second) and otherwise for an
 * HNSW candidate list (`hnsw_ef`) of `max(k × breadthPerK, minBreadth)`, at most 1,000: Qdrant's
 * HNSW prunes neighbours with the same heuristic as usearch and pgvector, which loses points
 * among near-duplicates (see the embedded store's `newIndex`).
 */
export class QdrantVectorStore implements VectorStore {
  readonly kind = 'qdrant';
  private readonly client: Client;
  private readonly log: VectorStoreLog;
  private readonly known = new Map<string, Known>();
  private readonly tuning: Readonly<SearchTuning>;
  private closed = false;

  constructor(options: QdrantVectorStoreOptions) {
    this.client = new QdrantClient({
      url: options.url,
      apiKey: options.apiKey,
      checkCompatibility: options.checkCompatibility ?? true,
    });
    this.log = options.log ?? (() => undefined);
    this.tuning = searchTuning(options.search);
  }

  async ensureCollection(key: string, dimensions: number): Promise<void> {
    this.assertOpen();
    assertCollectionKey(key);
    assertDimensions(dimensions);
    let known = this.known.get(key) ?? (await this.lookup(key));
    if (known === undefined) {
      try {
        await this.client.createCollection(key, { vectors: { size: dimensions, distance: 'Cosine' } });
      } catch (err) {
        // Another caller may have created it first (409): then it exists now.
        if ((await this.lookup(key)) === undefined) throw err;
      }
      known = await this.lookup(key);
      if (known === undefined) throw new VectorStoreError(`Qdrant did not create collection ${key}`);
    }
    if (known.dimensions !== dimensions) {
      throw new VectorStoreError(
        `Collection ${key} has ${known.dimensions} dimensions, not ${dimensions}`,
        'dimension_mismatch',
      );
    }
  }

  async upsert(key: string, points: VectorPoint[]): Promise<void> {
    const { dimensions } = await this.require(key);
    const latest = latestPointPerId(points, dimensions);
    const perRequest = Math.max(
      1,
      Math.min(MAX_POINTS_PER_REQUEST, Math.floor(MAX_FLOATS_PER_REQUEST / dimensions)),
    );
    for (let start = 0; start < latest.length; start += perRequest) {
      await this.call(key, () =>
        this.client.upsert(key, {
          wait: true,
          points: latest.slice(start, start + perRequest).map((point) => ({
            id: qdrantPointId(point.id),
            vector: Array.from(point.vector),
            payload: toQdrantPayload(point.id, point.payload),
          })),
        }),
      );
    }
  }

  async delete(key: string, ids: string[]): Promise<number> {
    await this.require(key);
    const pointIds = uniqueIds(ids).map(qdrantPointId);
    if (pointIds.length === 0) return 0;
    const existing = await this.call(key, () =>
      this.client.retrieve(key, { ids: pointIds, with_payload: false, with_vector: false }),
    );
    if (existing.length === 0) return 0;
    await this.call(key, () =>
      this.client.delete(key, { wait: true, points: existing.map((point) => point.id) }),
    );
    return existing.length;
  }

  async search(key: string, query: SearchQuery): Promise<SearchHit[]> {
    let known = await this.require(key);
    let filter: [string, PayloadValue][];
    try {
      filter = assertQuery(query, known.dimensions);
    } catch (err) {
      if (!(err instanceof VectorStoreError && err.code === 'dimension_mismatch')) throw err;
      // An alias switched by another process to a collection of other dimensions: ask Qdrant again.
      this.known.delete(key);
      known = await this.require(key);
      filter = assertQuery(query, known.dimensions);
    }
    await this.indexPayloadKeys(key, known, filter);
    const size =
      this.tuning.exactMaxFloats > 0 ? await this.approximateSize(key, known) : Number.MAX_SAFE_INTEGER;
    const plan = planSearch(size, known.dimensions, query.k, this.tuning);
    const response = await this.call(key, () =>
      this.client.query(key, {
        query: Array.from(query.vector),
        limit: query.k,
        filter: qdrantFilter(filter),
        params: plan.exact
          ? { exact: true }
          : this.tuning.minBreadth > 0 || this.tuning.breadthPerK > 1
            ? { hnsw_ef: plan.breadth }
            : {},
        with_payload: true,
        with_vector: false,
      }),
    ).catch(async (err: unknown) => {
      // The cache agreed with the query, Qdrant did not: an alias switched elsewhere. Refused
      // with the store's own error when a fresh read confirms it.
      if (badRequest(err)?.includes('dimension') === true) {
        this.known.delete(key);
        assertQuery(query, (await this.require(key)).dimensions);
      }
      throw err;
    });
    return response.points.map((point) => ({
      ...fromQdrantPayload(point.id, point.payload),
      score: point.score,
    }));
  }

  async info(key: string): Promise<CollectionInfo | undefined> {
    this.assertOpen();
    assertCollectionKey(key);
    // By an alias: the collection it names. Qdrant's collection info does not say its name, so
    // the alias is looked up in the list of aliases first.
    const { aliases } = await this.client.getAliases();
    const target = aliases.find((alias) => alias.alias_name === key)?.collection_name ?? key;
    try {
      return await this.infoOf(target);
    } catch (err) {
      // The collection was dropped between the two requests (its aliases went with it).
      if (err instanceof VectorStoreError && err.code === 'unknown_collection') return undefined;
      throw err;
    }
  }

  private async infoOf(key: string): Promise<CollectionInfo | undefined> {
    const known = await this.lookup(key);
    if (known === undefined) return undefined;
    const { count } = await this.call(key, () => this.client.count(key, { exact: true }));
    return { key, dimensions: known.dimensions, count };
  }

  async list(prefix?: string): Promise<CollectionInfo[]> {
    this.assertOpen();
    assertPrefix(prefix);
    const { collections } = await this.client.getCollections();
    const keys = collections
      .map((collection) => collection.name)
      .filter((name) => COLLECTION_KEY_PATTERN.test(name) && name.startsWith(prefix ?? ''))
      .sort();
    const infos: CollectionInfo[] = [];
    for (const key of keys) {
      const info = await this.infoOf(key).catch((err: unknown) => {
        // Dropped since it was listed.
        if (err instanceof VectorStoreError && err.code === 'unknown_collection') return undefined;
        throw err;
      });
      if (info) infos.push(info);
    }
    return infos;
  }

  /** Qdrant deletes the collection's aliases with it; by an alias's name it deletes nothing. */
  async dropCollection(key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(key);
    this.known.delete(key);
    try {
      await this.client.deleteCollection(key);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    // Names that were aliases of it are free now: what this process cached under them is void.
    this.known.clear();
  }

  async alias(alias: string, key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    assertCollectionKey(key);
    // Qdrant applies the actions in order and keeps those before one that fails, so a
    // create_alias refused after the delete_alias would leave the alias naming nothing. The target
    // is checked first: Qdrant resolves aliases when reading a collection, so it must also be
    // absent from the aliases to be a collection.
    const { aliases } = await this.client.getAliases();
    if (aliases.some((existing) => existing.alias_name === key) || (await this.lookup(key)) === undefined) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    try {
      await this.client.updateCollectionAliases({
        actions: [
          { delete_alias: { alias_name: alias } },
          { create_alias: { collection_name: key, alias_name: alias } },
        ],
      });
    } catch (err) {
      // Dropped since the check: Qdrant has applied the delete_alias, the alias names nothing.
      if (isNotFound(err)) {
        throw new VectorStoreError(
          `Unknown vector collection ${key} (alias ${alias} now names nothing)`,
          'unknown_collection',
        );
      }
      // The one refusal of a well-formed request: the alias's name is a collection's.
      const reason = badRequest(err);
      if (reason !== undefined) {
        throw new VectorStoreError(`Alias ${alias} cannot name ${key}: ${reason}`, 'invalid_argument');
      }
      throw err;
    } finally {
      this.known.delete(alias);
    }
  }

  async dropAlias(alias: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    try {
      await this.client.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: alias } }] });
    } finally {
      this.known.delete(alias);
    }
  }

  flush(): Promise<void> {
    return promised(() => this.assertOpen());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private assertOpen(): void {
    if (this.closed) throw new VectorStoreError('The vector store is closed', 'closed');
  }

  private async approximateSize(key: string, known: Known): Promise<number> {
    const now = Date.now();
    if (known.size === undefined || now - known.size.at > SIZE_TTL_MS) {
      const { count } = await this.call(key, () => this.client.count(key, { exact: false }));
      known.size = { count, at: now };
    }
    return known.size.count;
  }

  private async lookup(key: string): Promise<Known | undefined> {
    try {
      const info = await this.client.getCollection(key);
      const dimensions = vectorSize(info);
      if (dimensions === undefined) {
        throw new VectorStoreError(
          `Qdrant collection ${key} has named vectors; this store uses one unnamed vector`,
        );
      }
      const indexed = new Set(Object.keys(info.payload_schema));
      const known = { dimensions, indexed };
      this.known.set(key, known);
      return known;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.known.delete(key);
      return undefined;
    }
  }

  private async require(key: string): Promise<Known> {
    this.assertOpen();
    assertCollectionKey(key);
    const known = this.known.get(key) ?? (await this.lookup(key));
    if (known === undefined) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    return known;
  }

  /** Filtering works without payload indexes, only slower; so an index that cannot be created is logged, not fatal. */
  private async indexPayloadKeys(key: string, known: Known, filter: [string, PayloadValue][]): Promise<void> {
    for (const [callerField, value] of filter) {
      const field = qdrantKey(callerField);
      const type = payloadIndexType(value);
      if (type === undefined || known.indexed.has(field)) continue;
      try {
        await this.client.createPayloadIndex(key, { field_name: field, field_schema: type, wait: true });
        known.indexed.add(field);
      } catch (err) {
        this.log(`Could not create a ${type} payload index on ${key}.${field}: ${errorMessage(err)}`);
      }
    }
  }

  /** Runs a request on a collection, translating a collection deleted behind the cache's back. */
  private async call<T>(key: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (isNotFound(err)) {
        this.known.delete(key);
        throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
      }
      throw err;
    }
  }
}
