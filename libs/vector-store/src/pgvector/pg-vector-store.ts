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
import {
  angleOf,
  BestHits,
  capBound,
  dot,
  FOLD_MIN_COSINE,
  LARGE_GROUP_SIZE,
  unitVector,
} from '../near-duplicates';

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

/**
 * A group member's representative (NULL: the row is in the graph); a representative's member count
 * and its bound (radians) on the angle to any member.
 */
const GROUP_COLUMNS = [
  'rep text',
  'members integer NOT NULL DEFAULT 0',
  'radius double precision NOT NULL DEFAULT 0',
];

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
  /** The collection's key (not the alias's name it was reached by). */
  key: string;
  table: string;
  dimensions: number;
}

/** A deleted row, for the groups' bookkeeping. */
interface DeletedRow {
  id: string;
  rep: string | null;
  members: number;
  embedding: string;
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
 *
 * Near-duplicates stay out of the graph (see `near-duplicates.ts`): a row within `FOLD_MIN_COSINE`
 * of its nearest representative names it in `rep` and is left out of the HNSW index (a partial
 * index, `WHERE rep IS NULL`); representatives count their `members` and bound their `radius`. An
 * index search reads the representatives, then scans exactly the groups that could still rank
 * (one query over the `rep` index). Writes to one collection are serialised by a transaction-level
 * advisory lock, since a write reads the groups it changes.
 *
 * Aliases are rows of `"<schema>".aliases` (`alias` → `key`, a foreign key into the catalog with
 * `ON DELETE CASCADE`, so dropping a collection drops its aliases and an alias cannot name a
 * missing collection). `alias()` is one upsert of its row: atomic, and seen by every store on
 * the database. A call by an alias reads its row each time (one indexed lookup): only collection
 * keys are cached, so an alias switched by another process is followed at once.
 */
export class PgVectorStore implements VectorStore {
  readonly kind = 'pgvector';
  private readonly sql: SqlClient;
  private readonly schema: string;
  private readonly catalog: string;
  private readonly aliases: string;
  private readonly known = new Map<string, Known>();
  /** Tables known to have the group columns (tables from before near-duplicate groups get them added). */
  private readonly grouped = new Set<string>();
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
    this.aliases = `${this.schema}.aliases`;
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
    // By an alias's name: the collection it names, which already exists.
    const existing = this.known.get(key) ?? (await this.resolve(key));
    if (existing === undefined) {
      const { table, index } = collectionRelations(key);
      const relation = `${this.schema}.${quoteIdentifier(table)}`;
      // Table before catalog row: a crash in between leaves an unlisted table that the next call adopts.
      await this.ddl(
        `CREATE TABLE IF NOT EXISTS ${relation} (id text PRIMARY KEY, embedding vector(${dimensions}) NOT NULL, payload jsonb NOT NULL, ${GROUP_COLUMNS.join(', ')})`,
      );
      // A table adopted from before near-duplicate groups lacks their columns.
      await this.addGroupColumns(key, { key, table: relation, dimensions });
      await this.ddl(
        `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(index)} ON ${relation} USING hnsw (embedding vector_cosine_ops) WHERE rep IS NULL`,
      );
      await this.groupIndexes(key, relation);
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
    const known = await this.require(key);
    const { table, dimensions } = known;
    const latest = latestPointPerId(points, dimensions);
    if (latest.length === 0) return;
    const perInsert = Math.max(
      1,
      Math.min(MAX_ROWS_PER_INSERT, Math.floor(MAX_FLOATS_PER_INSERT / dimensions)),
    );
    await this.writing(key, known, async (db) => {
      // A new vector for a known id may belong elsewhere (another group, or the graph): out, then in.
      await this.deleteRows(
        key,
        known,
        latest.map((point) => point.id),
        db,
      );
      for (let start = 0; start < latest.length; start += perInsert) {
        const chunk = latest.slice(start, start + perInsert);
        const reps = await this.assignGroups(key, table, chunk, db);
        const rows = chunk.map((point, i) => ({
          id: point.id,
          embedding: vectorLiteral(point.vector),
          payload: point.payload,
          rep: reps.rep[i] ?? null,
        }));
        await this.run(
          key,
          `INSERT INTO ${table} (id, embedding, payload, rep)
           SELECT r.id, r.embedding::vector, r.payload, r.rep FROM jsonb_to_recordset($1::jsonb) AS r(id text, embedding text, payload jsonb, rep text)
           ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding, payload = EXCLUDED.payload, rep = EXCLUDED.rep, members = 0, radius = 0`,
          [JSON.stringify(rows)],
          db,
        );
        if (reps.grown.length > 0) {
          await this.run(
            key,
            `UPDATE ${table} AS t SET members = t.members + g.n, radius = GREATEST(t.radius, g.radius)
             FROM jsonb_to_recordset($1::jsonb) AS g(id text, n integer, radius double precision) WHERE t.id = g.id`,
            [JSON.stringify(reps.grown)],
            db,
          );
        }
      }
    });
  }

  async delete(key: string, ids: string[]): Promise<number> {
    const known = await this.require(key);
    const unique = uniqueIds(ids);
    if (unique.length === 0) return 0;
    return this.writing(key, known, (db) => this.deleteRows(key, known, unique, db));
  }

  /**
   * Which chunk points join a group: each point's nearest representative in the table (on the
   * index) or among the chunk's own new representatives, whichever is closer, if within
   * `FOLD_MIN_COSINE`. `rep[i]` is point i's representative (undefined: it is one itself); `grown`
   * the representatives that gained members, with how many and the widest angle.
   */
  private async assignGroups(
    key: string,
    table: string,
    chunk: VectorPoint[],
    db: SqlClient,
  ): Promise<{ rep: (string | undefined)[]; grown: { id: string; n: number; radius: number }[] }> {
    const { rows } = await this.run<{ i: number; id: string | null; distance: number | null }>(
      key,
      `SELECT r.i, n.id, n.distance FROM jsonb_to_recordset($1::jsonb) AS r(i integer, embedding text)
       LEFT JOIN LATERAL (
         SELECT id, embedding <=> r.embedding::vector AS distance FROM ${table}
         WHERE rep IS NULL ORDER BY embedding <=> r.embedding::vector LIMIT 1
       ) n ON true`,
      [JSON.stringify(chunk.map((point, i) => ({ i, embedding: vectorLiteral(point.vector) })))],
      db,
    );
    const nearest = new Map(rows.map((row) => [Number(row.i), row]));
    const fresh: { id: string; unit: Float32Array }[] = [];
    const grown = new Map<string, { id: string; n: number; radius: number }>();
    const rep = chunk.map((point, i) => {
      const unit = unitVector(point.vector);
      const found = nearest.get(i);
      let best = found?.id == null ? undefined : { id: found.id, score: 1 - Number(found.distance) };
      for (const candidate of fresh) {
        const score = dot(candidate.unit, unit);
        if (best === undefined || score > best.score) best = { id: candidate.id, score };
      }
      if (best === undefined || best.score < FOLD_MIN_COSINE) {
        fresh.push({ id: point.id, unit });
        return undefined;
      }
      const group = grown.get(best.id) ?? { id: best.id, n: 0, radius: 0 };
      group.n++;
      group.radius = Math.max(group.radius, angleOf(best.score));
      grown.set(best.id, group);
      return best.id;
    });
    return { rep, grown: [...grown.values()] };
  }

  /**
   * Deletes rows and keeps the groups right: members leave their group's count; a deleted
   * representative's nearest member takes its place in the graph, and its radius is measured anew.
   */
  private async deleteRows(key: string, known: Known, ids: string[], db: SqlClient): Promise<number> {
    const { table } = known;
    const { rows } = await this.run<DeletedRow>(
      key,
      `DELETE FROM ${table} WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))
       RETURNING id, rep, members, embedding::text AS embedding`,
      [JSON.stringify(ids)],
      db,
    );
    const gone = new Set(rows.map((row) => row.id));
    const left = new Map<string, number>();
    for (const row of rows) {
      if (row.rep !== null && !gone.has(row.rep)) left.set(row.rep, (left.get(row.rep) ?? 0) + 1);
    }
    if (left.size > 0) {
      await this.run(
        key,
        `UPDATE ${table} AS t SET members = GREATEST(0, t.members - g.n)
         FROM jsonb_to_recordset($1::jsonb) AS g(id text, n integer) WHERE t.id = g.id`,
        [JSON.stringify([...left].map(([id, n]) => ({ id, n })))],
        db,
      );
    }
    for (const row of rows) {
      if (row.rep === null && Number(row.members) > 0) await this.promote(key, table, row, db);
    }
    return rows.length;
  }

  private async promote(key: string, table: string, former: DeletedRow, db: SqlClient): Promise<void> {
    const { rows } = await this.run<{ id: string; embedding: string }>(
      key,
      `UPDATE ${table} SET rep = NULL, members = 0, radius = 0 WHERE id = (
         SELECT id FROM ${table} WHERE rep = $1 ORDER BY embedding <=> $2::vector LIMIT 1
       ) RETURNING id, embedding::text AS embedding`,
      [former.id, former.embedding],
      db,
    );
    const heir = rows[0];
    if (heir === undefined) return;
    await this.run(key, `UPDATE ${table} SET rep = $1 WHERE rep = $2`, [heir.id, former.id], db);
    await this.run(
      key,
      `UPDATE ${table} SET (members, radius) = (
         SELECT count(*)::int, coalesce(max(acos(LEAST(1, GREATEST(-1, 1 - (embedding <=> $2::vector))))), 0)
         FROM ${table} WHERE rep = $1
       ) WHERE id = $1`,
      [heir.id, heir.embedding],
      db,
    );
  }

  /**
   * Runs a write in one transaction holding the collection's advisory lock (without transactions,
   * as it comes: a client without them is used by one writer).
   */
  private async writing<T>(key: string, known: Known, work: (db: SqlClient) => Promise<T>): Promise<T> {
    if (this.sql.transaction === undefined) return work(this.sql);
    return this.sql.transaction(async (tx) => {
      await this.run(key, 'SELECT pg_advisory_xact_lock(hashtext($1))', [known.table], tx);
      return work(tx);
    });
  }

  /** The indexes groups are read by (created with the table, or added to a table from before them). */
  private async groupIndexes(key: string, relation: string): Promise<void> {
    const { groups, large } = collectionRelations(key);
    await this.ddl(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(groups)} ON ${relation} (rep) WHERE rep IS NOT NULL`,
    );
    await this.ddl(
      `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(large)} ON ${relation} (id) WHERE rep IS NULL AND members >= ${LARGE_GROUP_SIZE}`,
    );
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
    // The representatives on the index (whatever the filter: a group's members may match it when
    // its representative does not), then the groups that could still rank, exactly.
    const onIndex = async (db: SqlClient, breadth: number): Promise<Row[]> => {
      const matching = filter.length > 0 ? 'payload @> $3::jsonb' : 'true';
      type Rep = Row & { members: number; radius: number; matches: boolean };
      const reps = await this.run<Rep>(
        key,
        `SELECT id, payload, members, radius, ${matching} AS matches, embedding <=> $1::vector AS distance FROM ${table}
         WHERE rep IS NULL ORDER BY embedding <=> $1::vector LIMIT $2::int`,
        [params[0], Math.max(breadth, query.k), ...params.slice(2)],
        db,
      );
      const large = await this.run<Rep>(
        key,
        `SELECT id, payload, members, radius, false AS matches, embedding <=> $1::vector AS distance FROM ${table}
         WHERE rep IS NULL AND members >= ${LARGE_GROUP_SIZE}`,
        [params[0]],
        db,
      );
      const best = new BestHits(query.k);
      for (const row of reps.rows) {
        if (row.matches) best.offer(row.id, 1 - Number(row.distance), row.payload);
      }
      const groups = new Map<string, number>();
      for (const row of [...reps.rows, ...large.rows]) {
        if (Number(row.members) > 0)
          groups.set(row.id, capBound(1 - Number(row.distance), Number(row.radius)));
      }
      const floor = best.floor;
      const open = [...groups].filter(([, bound]) => bound > floor).map(([id]) => id);
      if (open.length > 0) {
        const members = await this.run<Row>(
          key,
          `SELECT id, payload, embedding <=> $1::vector AS distance FROM ${table}
           WHERE rep = ANY($3::text[]) ${filter.length > 0 ? 'AND payload @> $4::jsonb' : ''}
           ORDER BY embedding <=> $1::vector LIMIT $2::int`,
          [params[0], query.k, open, ...params.slice(2)],
          db,
        );
        for (const row of members.rows) best.offer(row.id, 1 - Number(row.distance), row.payload);
      }
      return best.hits().map((hit) => ({ id: hit.id, payload: hit.payload, distance: 1 - hit.score }));
    };
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
      const byIndex = await onIndex(db, local && widen ? Math.min(breadth, MAX_SEARCH_BREADTH) : query.k);
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
    const known = await this.resolve(key);
    return known && { key: known.key, dimensions: known.dimensions, count: await this.count(key, known) };
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
    // Its aliases go with the catalog row (ON DELETE CASCADE).
    await this.sql.query(`DELETE FROM ${this.catalog} WHERE key = $1`, [key]);
  }

  async alias(alias: string, key: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    assertCollectionKey(key);
    await this.prepare();
    let rows: unknown[];
    try {
      ({ rows } = await this.sql.query(
        `INSERT INTO ${this.aliases} (alias, key) SELECT $1, $2
         WHERE NOT EXISTS (SELECT 1 FROM ${this.catalog} WHERE key = $1)
         ON CONFLICT (alias) DO UPDATE SET key = EXCLUDED.key, updated_at = now()
         RETURNING alias`,
        [alias, key],
      ));
    } catch (err) {
      // The foreign key: `key` is no collection (an alias's name is none either).
      if (errorCode(err) === '23503') {
        throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
      }
      throw err;
    }
    if (rows.length === 0) {
      throw new VectorStoreError(`${alias} is a collection's key; an alias needs a name of its own`);
    }
  }

  async dropAlias(alias: string): Promise<void> {
    this.assertOpen();
    assertCollectionKey(alias);
    await this.prepare();
    await this.sql.query(`DELETE FROM ${this.aliases} WHERE alias = $1`, [alias]);
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
      await this.ddl(
        `CREATE TABLE IF NOT EXISTS ${this.aliases} (
           alias text PRIMARY KEY,
           key text NOT NULL REFERENCES ${this.catalog} (key) ON DELETE CASCADE,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      // The foreign key's cascade finds a dropped collection's aliases by it.
      await this.ddl(`CREATE INDEX IF NOT EXISTS aliases_key ON ${this.aliases} (key)`);
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
      key: row.key,
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

  /**
   * The collection `name` is the key of, or else the one the alias `name` names, in one query.
   * Only collections are cached (by their key), so an alias is read afresh on every call.
   */
  private async resolve(name: string): Promise<Known | undefined> {
    await this.prepare();
    const { rows } = await this.sql.query<CatalogRow>(
      `SELECT key, table_name, dimensions FROM ${this.catalog} WHERE key = $1
       UNION ALL
       SELECT c.key, c.table_name, c.dimensions FROM ${this.aliases} a JOIN ${this.catalog} c ON c.key = a.key
       WHERE a.alias = $1
       LIMIT 1`,
      [name],
    );
    const row = rows[0];
    if (row === undefined) {
      this.known.delete(name);
      return undefined;
    }
    return this.remember(row);
  }

  private async require(key: string): Promise<Known> {
    this.assertOpen();
    assertCollectionKey(key);
    const known = this.known.get(key) ?? (await this.resolve(key));
    if (known === undefined) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    if (!this.grouped.has(known.table)) await this.addGroupColumns(key, known);
    return known;
  }

  /**
   * Gives a table created before near-duplicate groups their columns and indexes. Its rows stay in
   * the graph (its HNSW index covers every row); rows written from now on fold into groups.
   */
  private async addGroupColumns(key: string, known: Known): Promise<void> {
    const { rows } = await this.run<{ n: number }>(
      key,
      `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'rep' AND NOT attisdropped`,
      [known.table],
    );
    if (Number(rows[0]?.n) === 0) {
      await this.ddl(
        `ALTER TABLE ${known.table} ${GROUP_COLUMNS.map((column) => `ADD COLUMN IF NOT EXISTS ${column}`).join(', ')}`,
      );
      await this.groupIndexes(key, known.table);
    }
    this.grouped.add(known.table);
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
