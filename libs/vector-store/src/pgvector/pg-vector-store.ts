import {
  CollectionInfo,
  Payload,
  SearchHit,
  SearchQuery,
  VectorPoint,
  VectorStore,
  VectorStoreError,
} from '../vector-store';
import {
  assertCollectionKey,
  assertDimensions,
  assertPrefix,
  assertQuery,
  latestPointPerId,
  promised,
  uniqueIds,
} from '../validation';
import { collectionRelations, quoteIdentifier, SCHEMA_PATTERN } from './pg-names';
import { MAX_SEARCH_BREADTH, planSearch, SearchTuning, searchTuning } from '../search-plan';

/** The one thing the store needs from a PostgreSQL client; `pg.Pool`, `pg.Client` and PGlite all fit. */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /**
   * Runs `work` on one connection inside a transaction (PGlite and libs/db's pool client have it).
   * Without it, searches keep the server's `hnsw.ef_search`, since `SET LOCAL` needs a transaction.
   */
  transaction?<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
}

export interface PgVectorStoreOptions {
  /** Not closed by `close()`: the caller owns it. */
  sql: SqlClient;
  /** Schema holding the catalog and one table per collection. @defaultValue 'vectors' */
  schema?: string;
  /** How widely search looks (see `SearchTuning`). @defaultValue DEFAULT_SEARCH_TUNING */
  search?: Partial<SearchTuning>;
}

/** pgvector's HNSW index covers `vector` columns of at most 2,000 dimensions. */
const MAX_INDEXED_DIMENSIONS = 2000;
/** Rows per INSERT, bounded by floats per statement so a batch of large vectors stays a few MB. */
const MAX_ROWS_PER_INSERT = 1000;
const MAX_FLOATS_PER_INSERT = 256 * 1024;

interface CatalogRow {
  key: string;
  table_name: string;
  dimensions: number;
}

interface Known {
  table: string;
  dimensions: number;
}

const vectorLiteral = (vector: Float32Array): string => `[${vector.join(',')}]`;

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Collections as PostgreSQL tables with pgvector: `"<schema>"."c_<key>"` (`id text primary key,
 * embedding vector(d), payload jsonb`) with an HNSW `vector_cosine_ops` index each, and a catalog
 * table `"<schema>".collections` naming them. Filters are jsonb containment (`payload @> filter`).
 *
 * Search is exact (every matching row scored, the index bypassed) on a collection of at most
 * `search.exactMaxFloats` rows × dimensions: pgvector's HNSW graph is built with the same
 * neighbour-pruning heuristic as usearch's and loses points among near-duplicates the same way (see
 * the embedded store's `newIndex`; with 20 distinct sentences among 2,000 templated rows an index
 * scan at the default `hnsw.ef_search` of 40 found 3 of the 20 by their own vectors). Larger
 * collections are searched on the index inside a transaction that sets `hnsw.ef_search` to the
 * plan's breadth (`max(k × breadthPerK, minBreadth)`, at most 1,000) and, on pgvector 0.8+,
 * `hnsw.iterative_scan = strict_order`, so a selective filter keeps scanning instead of coming back
 * short. A scan that still comes back short is re-run exactly over the matching rows.
 */
export class PgVectorStore implements VectorStore {
  readonly kind = 'pgvector';
  private readonly sql: SqlClient;
  private readonly schema: string;
  private readonly catalog: string;
  private readonly known = new Map<string, Known>();
  private readonly tuning: Readonly<SearchTuning>;
  private ready: Promise<void> | undefined;
  /** pgvector 0.8+ scans an HNSW index iteratively (`hnsw.iterative_scan`); known after prepare(). */
  private iterativeScan = false;
  private closed = false;

  constructor(options: PgVectorStoreOptions) {
    const schema = options.schema ?? 'vectors';
    if (!SCHEMA_PATTERN.test(schema)) {
      throw new VectorStoreError(
        `Invalid schema ${JSON.stringify(schema)}: expected ${String(SCHEMA_PATTERN)}`,
      );
    }
    this.sql = options.sql;
    this.schema = quoteIdentifier(schema);
    this.catalog = `${this.schema}.collections`;
    this.tuning = searchTuning(options.search);
  }

  async ensureCollection(key: string, dimensions: number): Promise<void> {
    this.assertOpen();
    assertCollectionKey(key);
    assertDimensions(dimensions);
    if (dimensions > MAX_INDEXED_DIMENSIONS) {
      throw new VectorStoreError(
        `pgvector indexes at most ${MAX_INDEXED_DIMENSIONS} dimensions; ${dimensions} requested for ${key}`,
      );
    }
    const existing = this.known.get(key) ?? (await this.lookup(key));
    if (existing === undefined) {
      const { table, index } = collectionRelations(key);
      const relation = `${this.schema}.${quoteIdentifier(table)}`;
      // Table before catalog row: a crash in between leaves an unlisted table that the next call adopts.
      await this.ddl(
        `CREATE TABLE IF NOT EXISTS ${relation} (id text PRIMARY KEY, embedding vector(${dimensions}) NOT NULL, payload jsonb NOT NULL)`,
      );
      await this.ddl(
        `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(index)} ON ${relation} USING hnsw (embedding vector_cosine_ops)`,
      );
      await this.sql.query(
        `INSERT INTO ${this.catalog} (key, table_name, dimensions) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
        [key, table, dimensions],
      );
    }
    // Re-read: a concurrent creator may have registered the key first.
    const current = existing ?? (await this.lookup(key));
    if (current === undefined) throw new VectorStoreError(`Collection ${key} vanished while being created`);
    if (current.dimensions !== dimensions) {
      throw new VectorStoreError(
        `Collection ${key} has ${current.dimensions} dimensions, not ${dimensions}`,
        'dimension_mismatch',
      );
    }
  }

  async upsert(key: string, points: VectorPoint[]): Promise<void> {
    const { table, dimensions } = await this.require(key);
    const latest = latestPointPerId(points, dimensions);
    const perInsert = Math.max(
      1,
      Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_FLOATS_PER_INSERT / dimensions)),
    );
    for (let start = 0; start < latest.length; start += perInsert) {
      const rows = latest
        .slice(start, start + perInsert)
        .map((point) => ({ id: point.id, embedding: vectorLiteral(point.vector), payload: point.payload }));
      await this.run(
        key,
        `INSERT INTO ${table} (id, embedding, payload)
         SELECT r.id, r.embedding::vector, r.payload FROM jsonb_to_recordset($1::jsonb) AS r(id text, embedding text, payload jsonb)
         ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, payload = EXCLUDED.payload`,
        [JSON.stringify(rows)],
      );
    }
  }

  async delete(key: string, ids: string[]): Promise<number> {
    const { table } = await this.require(key);
    const unique = uniqueIds(ids);
    if (unique.length === 0) return 0;
    const { rows } = await this.run<{ n: number | string }>(
      key,
      `WITH deleted AS (
         DELETE FROM ${table} WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)) RETURNING 1
       ) SELECT count(*)::int AS n FROM deleted`,
      [JSON.stringify(unique)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  async search(key: string, query: SearchQuery): Promise<SearchHit[]> {
    const { table, dimensions } = await this.require(key);
    const filter = assertQuery(query, dimensions);
    const params: unknown[] = [vectorLiteral(query.vector), query.k];
    let where = '';
    if (filter.length > 0) {
      params.push(JSON.stringify(Object.fromEntries(filter)));
      where = 'WHERE payload @> $3::jsonb';
    }
    type Row = { id: string; payload: Payload; distance: number };
    // MATERIALIZED keeps the planner from answering with the index scan.
    const exactly = (db: SqlClient) =>
      this.run<Row>(
        key,
        `WITH matching AS MATERIALIZED (
           SELECT id, payload, embedding <=> $1::vector AS distance FROM ${table} ${where}
         ) SELECT id, payload, distance FROM matching ORDER BY distance LIMIT $2::int`,
        params,
        db,
      );
    const onIndex = (db: SqlClient) =>
      this.run<Row>(
        key,
        `SELECT id, payload, embedding <=> $1::vector AS distance FROM ${table} ${where}
         ORDER BY embedding <=> $1::vector LIMIT $2::int`,
        params,
        db,
      );
    // Rows up to which scoring every row is cheap; counting stops one past it, so the count costs
    // no more than the exact search it decides on.
    const exactRows = Math.floor(this.tuning.exactMaxFloats / dimensions);
    const { breadth } = planSearch(Number.MAX_SAFE_INTEGER, dimensions, query.k, this.tuning);
    const widen = this.tuning.minBreadth > 0 || this.tuning.breadthPerK > 1;
    const searchOn = async (db: SqlClient, local: boolean): Promise<Row[]> => {
      const settings: string[] = [];
      if (local && widen) {
        settings.push(`set_config('hnsw.ef_search', '${Math.min(breadth, MAX_SEARCH_BREADTH)}', true)`);
        if (this.iterativeScan) settings.push(`set_config('hnsw.iterative_scan', 'strict_order', true)`);
      }
      if (exactRows > 0) {
        settings.push(`(SELECT count(*)::int FROM (SELECT 1 FROM ${table} LIMIT ${exactRows + 1}) s) AS n`);
      }
      if (settings.length > 0) {
        const { rows } = await this.run<{ n?: number }>(key, `SELECT ${settings.join(', ')}`, [], db);
        if (exactRows > 0 && Number(rows[0]?.n) <= exactRows) return (await exactly(db)).rows;
      }
      const byIndex = (await onIndex(db)).rows;
      // Short: fewer rows match than k, or the index scan stopped early. Rank every match.
      return byIndex.length < query.k ? (await exactly(db)).rows : byIndex;
    };
    const rows =
      this.sql.transaction !== undefined && widen
        ? await this.sql.transaction((tx) => searchOn(tx, true))
        : await searchOn(this.sql, false);
    return rows
      .map((row) => ({ id: row.id, score: 1 - Number(row.distance), payload: row.payload }))
      .sort((a, b) => b.score - a.score);
  }

  async info(key: string): Promise<CollectionInfo | undefined> {
    this.assertOpen();
    assertCollectionKey(key);
    const known = await this.lookup(key);
    return known && { key, dimensions: known.dimensions, count: await this.count(key, known) };
  }

  async list(prefix?: string): Promise<CollectionInfo[]> {
    this.assertOpen();
    assertPrefix(prefix);
    await this.prepare();
    const { rows } = await this.sql.query<CatalogRow>(
      `SELECT key, table_name, dimensions FROM ${this.catalog} WHERE starts_with(key, $1) ORDER BY key`,
      [prefix ?? ''],
    );
    const infos: CollectionInfo[] = [];
    for (const row of rows) {
      const known = this.remember(row);
      infos.push({ key: row.key, dimensions: known.dimensions, count: await this.count(row.key, known) });
    }
    return infos;
  }

  async dropCollection(key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(key);
    const known = await this.lookup(key);
    const table = known?.table ?? `${this.schema}.${quoteIdentifier(collectionRelations(key).table)}`;
    this.known.delete(key);
    await this.sql.query(`DROP TABLE IF EXISTS ${table}`);
    await this.sql.query(`DELETE FROM ${this.catalog} WHERE key = $1`, [key]);
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

  /** Creates the extension, the schema and the catalog once per store. */
  private prepare(): Promise<void> {
    this.ready ??= (async () => {
      await this.ddl('CREATE EXTENSION IF NOT EXISTS vector');
      const { rows } = await this.sql.query<{ version: string }>(
        `SELECT extversion AS version FROM pg_extension WHERE extname = 'vector'`,
      );
      const [major = 0, minor = 0] = (rows[0]?.version ?? '0').split('.').map(Number);
      this.iterativeScan = major > 0 || minor >= 8;
      await this.ddl(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await this.ddl(
        `CREATE TABLE IF NOT EXISTS ${this.catalog} (
           key text PRIMARY KEY,
           table_name text NOT NULL UNIQUE,
           dimensions integer NOT NULL,
           created_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    })().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** `IF NOT EXISTS` still races between sessions (a unique violation in the system catalogs). */
  private async ddl(text: string): Promise<void> {
    try {
      await this.sql.query(text);
    } catch (err) {
      if (!['23505', '42P06', '42P07', '42710'].includes(errorCode(err) ?? '')) throw err;
    }
  }

  private remember(row: CatalogRow): Known {
    const known = {
      table: `${this.schema}.${quoteIdentifier(row.table_name)}`,
      dimensions: Number(row.dimensions),
    };
    this.known.set(row.key, known);
    return known;
  }

  private async lookup(key: string): Promise<Known | undefined> {
    await this.prepare();
    const { rows } = await this.sql.query<CatalogRow>(
      `SELECT key, table_name, dimensions FROM ${this.catalog} WHERE key = $1`,
      [key],
    );
    const row = rows[0];
    if (row === undefined) {
      this.known.delete(key);
      return undefined;
    }
    return this.remember(row);
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

  private async count(key: string, known: Known): Promise<number> {
    const { rows } = await this.run<{ n: number | string }>(key, `SELECT count(*) AS n FROM ${known.table}`);
    return Number(rows[0]?.n ?? 0);
  }

  /** Runs a statement on a collection's table, translating a table dropped behind the cache's back. */
  private async run<R>(
    key: string,
    text: string,
    params?: unknown[],
    db: SqlClient = this.sql,
  ): Promise<{ rows: R[] }> {
    try {
      return await db.query<R>(text, params);
    } catch (err) {
      if (errorCode(err) === '42P01') {
        this.known.delete(key);
        throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
      }
      throw err;
    }
  }
}
