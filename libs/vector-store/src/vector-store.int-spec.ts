import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// eslint-disable-next-line @nx/enforce-module-boundaries -- tests drive the adapter with the SQL clients it serves
import { PGlite } from '@electric-sql/pglite';
// eslint-disable-next-line @nx/enforce-module-boundaries -- tests drive the adapter with the SQL clients it serves
import { vector } from '@electric-sql/pglite-pgvector';
import { cosine, describeVectorStoreContract, duplicateHeavyVectors, randomVectors } from './contract';
import { FLAT_FILE, INDEX_FILE, META_FILE } from './embedded/collection-files';
import {
  EmbeddedStore,
  EmbeddedVectorStore,
  EmbeddedVectorStoreOptions,
  RebuildSource,
} from './embedded/embedded-vector-store';
import { ThreadedEmbeddedVectorStore } from './embedded/threaded-embedded-vector-store';
import { PgVectorStore } from './pgvector/pg-vector-store';
import { HNSW_ONLY_SEARCH_TUNING } from './search-plan';
import { QdrantVectorStore } from './qdrant/qdrant-vector-store';
import { startFakeQdrantServer } from './testing/fake-qdrant-server';
import { SearchHit, VectorPoint, VectorStoreError } from './vector-store';

const tempDir = (): Promise<string> => mkdtemp(path.join(tmpdir(), 'tributary-vectors-'));

// Each store twice: with its search plan (exact where cheap, so most of the suite's collections are
// scored exactly) and on its HNSW graph alone, where near-duplicate groups do the work.
describe.each([
  ['', {}],
  [' on the graph only', { exactMaxFloats: 0 }],
])('stores%s', (_name, search) => {
  describeVectorStoreContract('embedded', async () => {
    const dir = await tempDir();
    let store = await EmbeddedVectorStore.open({ dir, search });
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await EmbeddedVectorStore.open({ dir, search });
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });

  describeVectorStoreContract('embedded on a worker thread', async () => {
    const dir = await tempDir();
    let store = await ThreadedEmbeddedVectorStore.open({ dir, search });
    return {
      store,
      reopen: async () => {
        await store.close();
        store = await ThreadedEmbeddedVectorStore.open({ dir, search });
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });

  describeVectorStoreContract('pgvector', async () => {
    // In-process PostgreSQL with pgvector, loaded the way libs/db's embedded server loads it.
    const db = await PGlite.create({ extensions: { vector } });
    let store = new PgVectorStore({ sql: db, schema: 'vectors_contract', search });
    return {
      store,
      // The storage is the database: a new store over it starts with nothing cached.
      reopen: async () => {
        await store.close();
        store = new PgVectorStore({ sql: db, schema: 'vectors_contract', search });
        return store;
      },
      cleanup: async () => {
        await store.close();
        await db.close();
      },
    };
  });
});

const qdrantUrl = process.env.QDRANT_URL;
// Only a real server shows the adapter works against Qdrant. None runs here, so without QDRANT_URL
// the whole contract is skipped when the suite is collected and reported as skipped, never as passed.
(qdrantUrl ? describe : describe.skip)(
  `against a Qdrant server${qdrantUrl ? '' : ' (skipped: QDRANT_URL is unset, e.g. http://127.0.0.1:6333)'}`,
  () => {
    const options = { url: qdrantUrl ?? '', apiKey: process.env.QDRANT_API_KEY, checkCompatibility: false };
    describeVectorStoreContract('qdrant', () => {
      let store = new QdrantVectorStore(options);
      return Promise.resolve({
        store,
        reopen: async () => {
          await store.close();
          store = new QdrantVectorStore(options);
          return store;
        },
        cleanup: () => store.close(),
      });
    });
  },
);

// The adapter and the real client end to end against a fake of the REST endpoints they use: this
// checks requests, responses and error mapping, not Qdrant itself.
describeVectorStoreContract('qdrant adapter on a fake Qdrant REST server', async () => {
  const server = await startFakeQdrantServer();
  const options = { url: server.url, checkCompatibility: false };
  let store = new QdrantVectorStore(options);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = new QdrantVectorStore(options);
      return store;
    },
    cleanup: async () => {
      await store.close();
      await server.stop();
    },
  };
});

describe('QdrantVectorStore payload indexes (fake Qdrant REST server)', () => {
  it('creates an index per filtered key once, typed by the value filtered on', async () => {
    const server = await startFakeQdrantServer();
    const store = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
    try {
      await store.ensureCollection('indexed', 4);
      await store.upsert('indexed', makePoints('p', 10, 4, 37));
      const vector = Float32Array.of(1, 0, 0, 0);
      await store.search('indexed', { vector, k: 3, filter: { batch: 'p', i: 2 } });
      await store.search('indexed', { vector, k: 3, filter: { batch: 'p', i: 3 } });
      const reopened = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
      await reopened.search('indexed', { vector, k: 3, filter: { batch: 'p' } });
      expect(server.requests.filter((request) => request.endsWith('/index'))).toEqual([
        'PUT /collections/indexed/index',
        'PUT /collections/indexed/index',
      ]);
      expect(await store.search('indexed', { vector, k: 3, filter: { batch: 'p', i: 2 } })).toMatchObject([
        { id: 'p-2', payload: { batch: 'p', i: 2 } },
      ]);
    } finally {
      await server.stop();
    }
  });
});

describe('QdrantVectorStore search plan (fake Qdrant REST server)', () => {
  it('asks for exact search on a small collection and for a wider HNSW beam on a large one', async () => {
    const server = await startFakeQdrantServer();
    // 64 points × 4 dimensions = 256 floats: exact up to 256, HNSW beyond.
    const options = { url: server.url, checkCompatibility: false };
    const store = new QdrantVectorStore({ ...options, search: { exactMaxFloats: 256 } });
    try {
      await store.ensureCollection('plan', 4);
      await store.upsert('plan', makePoints('p', 64, 4, 38));
      const vector = Float32Array.of(1, 0, 0, 0);
      await store.search('plan', { vector, k: 10 });
      await store.upsert('plan', makePoints('q', 1000, 4, 39));
      // A store that has not read the count yet (each re-reads it at most once a second).
      const fresh = new QdrantVectorStore({ ...options, search: { exactMaxFloats: 256 } });
      await fresh.search('plan', { vector, k: 10 });
      await fresh.search('plan', { vector, k: 100 });
      expect(server.queryParams).toEqual([{ exact: true }, { hnsw_ef: 256 }, { hnsw_ef: 1000 }]);
    } finally {
      await server.stop();
    }
  });
});

describe('Qdrant collection aliases (fake Qdrant REST server)', () => {
  const post = async (url: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
  const get = async (url: string): Promise<unknown> =>
    ((await (await fetch(url)).json()) as { result: unknown }).result;

  it('applies the actions in order, keeping those before a failing one as Qdrant does', async () => {
    const server = await startFakeQdrantServer();
    const store = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
    try {
      await store.ensureCollection('one', 4);
      await store.ensureCollection('two', 4);
      await store.alias('current', 'one');
      const failed = await post(`${server.url}/collections/aliases`, {
        actions: [
          { delete_alias: { alias_name: 'current' } },
          { create_alias: { collection_name: 'missing', alias_name: 'current' } },
        ],
      });
      expect(failed.status).toBe(404);
      expect(await get(`${server.url}/aliases`)).toEqual({ aliases: [] });
      const refused = await post(`${server.url}/collections/aliases`, {
        actions: [{ create_alias: { collection_name: 'one', alias_name: 'two' } }],
      });
      expect(refused.status).toBe(400);
      // create_alias replaces an existing alias; rename moves it.
      await post(`${server.url}/collections/aliases`, {
        actions: [
          { create_alias: { collection_name: 'one', alias_name: 'a1' } },
          { create_alias: { collection_name: 'two', alias_name: 'a1' } },
          { rename_alias: { old_alias_name: 'a1', new_alias_name: 'a2' } },
        ],
      });
      expect(await get(`${server.url}/aliases`)).toEqual({
        aliases: [{ alias_name: 'a2', collection_name: 'two' }],
      });
      expect(await get(`${server.url}/collections/two/aliases`)).toEqual({
        aliases: [{ alias_name: 'a2', collection_name: 'two' }],
      });
      const shadowing = await fetch(`${server.url}/collections/a2`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ vectors: { size: 4, distance: 'Cosine' } }),
      });
      expect(shadowing.status).toBe(400);
    } finally {
      await server.stop();
    }
  });

  it('switches with one request holding delete_alias and create_alias, after checking the target', async () => {
    const server = await startFakeQdrantServer();
    const store = new QdrantVectorStore({ url: server.url, checkCompatibility: false });
    try {
      await store.ensureCollection('one', 4);
      await store.ensureCollection('two', 4);
      await store.alias('current', 'one');
      server.requests.length = 0;
      await store.alias('current', 'two');
      expect(server.requests.filter((request) => request === 'POST /collections/aliases')).toHaveLength(1);
      // A refused target is refused before anything is sent: the alias keeps naming 'two'.
      server.requests.length = 0;
      await expect(store.alias('current', 'missing')).rejects.toMatchObject({ code: 'unknown_collection' });
      expect(server.requests).not.toContain('POST /collections/aliases');
      expect((await store.info('current'))?.key).toBe('two');
    } finally {
      await server.stop();
    }
  });

  it('follows an alias another process switched to a collection of other dimensions', async () => {
    const server = await startFakeQdrantServer();
    const options = { url: server.url, checkCompatibility: false };
    const searcher = new QdrantVectorStore(options);
    const operator = new QdrantVectorStore(options);
    try {
      await operator.ensureCollection('small', 4);
      await operator.ensureCollection('large', 8);
      await operator.upsert('small', makePoints('s', 3, 4, 47));
      await operator.upsert('large', makePoints('l', 3, 8, 48));
      await operator.alias('serving', 'small');
      expect(await searcher.search('serving', { vector: Float32Array.of(1, 0, 0, 0), k: 1 })).toHaveLength(1);
      await operator.alias('serving', 'large');
      const wide = randomVectors(1, 8, 49)[0] as Float32Array;
      expect((await searcher.search('serving', { vector: wide, k: 3 })).map((hit) => hit.id).sort()).toEqual([
        'l-0',
        'l-1',
        'l-2',
      ]);
      await operator.alias('serving', 'small');
      // The searcher's cache says 8: Qdrant's refusal is checked against a fresh read.
      await expect(searcher.search('serving', { vector: wide, k: 3 })).rejects.toMatchObject({
        code: 'dimension_mismatch',
      });
    } finally {
      await server.stop();
    }
  });
});

describe('PgVectorStore aliases across stores on one database', () => {
  it('follows an alias another store switched, at once', async () => {
    const db = await PGlite.create({ extensions: { vector } });
    try {
      const searcher = new PgVectorStore({ sql: db, schema: 'aliases_shared' });
      const operator = new PgVectorStore({ sql: db, schema: 'aliases_shared' });
      await operator.ensureCollection('small', 4);
      await operator.ensureCollection('large', 8);
      await operator.upsert('small', makePoints('s', 3, 4, 50));
      await operator.upsert('large', makePoints('l', 3, 8, 51));
      await operator.alias('serving', 'small');
      expect(
        (await searcher.search('serving', { vector: Float32Array.of(1, 0, 0, 0), k: 1 }))[0]?.id,
      ).toMatch(/^s-/);
      await operator.alias('serving', 'large');
      const wide = randomVectors(1, 8, 52)[0] as Float32Array;
      expect((await searcher.search('serving', { vector: wide, k: 1 }))[0]?.id).toMatch(/^l-/);
      expect((await searcher.info('serving'))?.key).toBe('large');
      await operator.dropCollection('large');
      expect(await searcher.info('serving')).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});

describe('PgVectorStore on the HNSW index', () => {
  it('widens the index scan (hnsw.ef_search, iterative scan) in the search transaction', async () => {
    const db = await PGlite.create({ extensions: { vector } });
    try {
      const statements: string[] = [];
      const recorded = {
        query: <R>(text: string, params?: unknown[]) => db.query<R>(text, params),
        transaction: <T>(work: (tx: { query: typeof db.query }) => Promise<T>) =>
          db.transaction((tx) =>
            work({
              query: <R>(text: string, params?: unknown[]) => {
                statements.push(text.replace(/\s+/g, ' '));
                return tx.query<R>(text, params);
              },
            }),
          ),
      };
      const { distinct, crowd } = duplicateHeavyVectors(20, 2000, 64, 41);
      const sentences = distinct.map((vector, i) => ({ id: `s${i}`, vector, payload: {} }));
      const loader = new PgVectorStore({ sql: db });
      await loader.ensureCollection('wide', 64);
      await loader.upsert('wide', sentences);
      await loader.upsert(
        'wide',
        crowd.map((vector, i) => ({ id: `c${i}`, vector, payload: {} })),
      );
      await db.exec('SET enable_seqscan = off');
      const foundFirst = async (store: PgVectorStore): Promise<number> => {
        let found = 0;
        for (const point of sentences) {
          if ((await store.search('wide', { vector: point.vector, k: 10 }))[0]?.id === point.id) found++;
        }
        return found;
      };
      // Both on the index (nothing is small enough to score exactly): the old scan and the widened one.
      const narrow = await foundFirst(new PgVectorStore({ sql: db, search: HNSW_ONLY_SEARCH_TUNING }));
      const wide = await foundFirst(new PgVectorStore({ sql: recorded, search: { exactMaxFloats: 0 } }));
      expect(statements[0]).toMatch(
        /set_config\('hnsw.ef_search', '256', true\), set_config\('hnsw.iterative_scan', 'strict_order', true\)/,
      );
      expect(statements[1]).toMatch(/WHERE rep IS NULL ORDER BY embedding <=>/);
      // The crowd (cosine ≈ 0.95 to one another) folded into groups, out of the HNSW index: even
      // the old narrow scan now finds every sentence first (before groups it found 3 of 20).
      const { rows } = await db.query<{ members: number }>(
        `SELECT count(*)::int AS members FROM vectors."c_wide" WHERE rep IS NOT NULL`,
      );
      expect(rows[0]?.members).toBeGreaterThan(crowd.length * 0.95);
      expect(wide).toBe(sentences.length);
      expect(narrow).toBe(sentences.length);
    } finally {
      await db.close();
    }
  });

  it('gives a table from before near-duplicate groups their columns, then folds new near-duplicates', async () => {
    const db = await PGlite.create({ extensions: { vector } });
    try {
      // The schema the store wrote before groups: no group columns, a full HNSW index.
      const store = new PgVectorStore({ sql: db, schema: 'legacy' });
      await store.list();
      await db.exec(`
        CREATE TABLE legacy."c_old" (id text PRIMARY KEY, embedding vector(16) NOT NULL, payload jsonb NOT NULL);
        CREATE INDEX "h_old" ON legacy."c_old" USING hnsw (embedding vector_cosine_ops);
        INSERT INTO legacy.collections (key, table_name, dimensions) VALUES ('old', 'c_old', 16);
      `);
      const { distinct, crowd } = duplicateHeavyVectors(5, 40, 16, 37);
      const before = distinct.map((vector, i) => ({ id: `d${i}`, vector, payload: {} }));
      await db.query(
        `INSERT INTO legacy."c_old" (id, embedding, payload) SELECT r.id, r.e::vector, '{}' FROM jsonb_to_recordset($1::jsonb) AS r(id text, e text)`,
        [JSON.stringify(before.map((point) => ({ id: point.id, e: `[${point.vector.join(',')}]` })))],
      );

      const reopened = new PgVectorStore({ sql: db, schema: 'legacy', search: { exactMaxFloats: 0 } });
      const later = crowd.map((vector, i) => ({ id: `c${i}`, vector, payload: {} }));
      await reopened.upsert('old', later);
      const { rows } = await db.query<{ members: number }>(
        `SELECT count(*)::int AS members FROM legacy."c_old" WHERE rep IS NOT NULL`,
      );
      expect(rows[0]?.members).toBeGreaterThan(later.length * 0.9);
      for (const point of [...before, ...later]) {
        expect((await reopened.search('old', { vector: point.vector, k: 1 }))[0]?.id).toBe(point.id);
      }
      expect(await reopened.delete('old', ['c0', 'd0'])).toBe(2);
      expect((await reopened.info('old'))?.count).toBe(43);
    } finally {
      await db.close();
    }
  });

  it('answers filtered searches in full when the index scan comes back short', async () => {
    const db = await PGlite.create({ extensions: { vector } });
    try {
      const store = new PgVectorStore({ sql: db });
      await store.ensureCollection('forced', 16);
      const stored = makePoints('p', 400, 16, 34).map((point, i) => ({
        ...point,
        payload: { rare: i % 50 === 0 },
      }));
      await store.upsert('forced', stored);
      // What the planner picks on large tables: the HNSW scan (ef_search = 40 candidates), then the filter.
      await db.exec('SET enable_seqscan = off');
      const query = randomVectors(1, 16, 35)[0] as Float32Array;
      const plan = await db.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM vectors."c_forced" WHERE rep IS NULL AND payload @> '{"rare":true}' ORDER BY embedding <=> $1::vector LIMIT 10`,
        [`[${query.join(',')}]`],
      );
      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/Index Scan using "?h_forced"?/);

      const hits = await store.search('forced', { vector: query, k: 10, filter: { rare: true } });
      expect(hits.map((hit) => hit.id).sort()).toEqual(
        stored
          .filter((point) => point.payload['rare'] === true)
          .map((point) => point.id)
          .sort(),
      );
    } finally {
      await db.close();
    }
  });
});

/** The system of record, in memory: what the embedded store is rebuilt from. */
class MemorySource implements RebuildSource {
  private readonly data = new Map<
    string,
    { dimensions: number; version: string; points: Map<string, VectorPoint> }
  >();
  /** Collections whose points were read, in order. */
  readonly reads: string[] = [];

  /** Applies a write as the database would, bumping the version. */
  write(
    key: string,
    dimensions: number,
    version: string,
    upserts: VectorPoint[],
    deletes: string[] = [],
  ): void {
    const collection = this.data.get(key) ?? { dimensions, version, points: new Map<string, VectorPoint>() };
    for (const point of upserts) collection.points.set(point.id, point);
    for (const id of deletes) collection.points.delete(id);
    collection.version = version;
    this.data.set(key, collection);
  }

  content(key: string): VectorPoint[] {
    return [...(this.data.get(key)?.points.values() ?? [])];
  }

  collections(): Promise<{ key: string; dimensions: number }[]> {
    return Promise.resolve([...this.data].map(([key, { dimensions }]) => ({ key, dimensions })));
  }

  version(key: string): Promise<string | undefined> {
    return Promise.resolve(this.data.get(key)?.version);
  }

  async *points(key: string): AsyncIterable<VectorPoint[]> {
    this.reads.push(key);
    const all = this.content(key);
    for (let start = 0; start < all.length; start += 64) {
      yield await Promise.resolve(all.slice(start, start + 64));
    }
  }
}

const makePoints = (prefix: string, count: number, dimensions: number, seed: number): VectorPoint[] =>
  randomVectors(count, dimensions, seed).map((vector, i) => ({
    id: `${prefix}-${i}`,
    vector,
    payload: { batch: prefix, i },
  }));

/** Every source point answers for itself, with its payload, and nothing else is in the collection. */
async function expectExactly(store: EmbeddedStore, key: string, content: VectorPoint[]): Promise<void> {
  expect((await store.info(key))?.count).toBe(content.length);
  for (const point of content) {
    const [hit] = await store.search(key, { vector: point.vector, k: 1 });
    expect(hit?.id).toBe(point.id);
    expect(hit?.score).toBeCloseTo(1, 4);
    expect(hit?.payload).toEqual(point.payload);
  }
}

const searchAll = (store: EmbeddedStore, key: string, queries: Float32Array[]): Promise<SearchHit[][]> =>
  Promise.all(queries.map((query) => store.search(key, { vector: query, k: 10, filter: { batch: 'a' } })));

/** Long enough that the interval never fires during a test: only flush() and close() save. */
const NEVER = 3_600_000;

// In process and on a worker thread, where the source stays in the caller's thread.
describe.each([
  [
    'in process',
    (options: EmbeddedVectorStoreOptions): Promise<EmbeddedStore> => EmbeddedVectorStore.open(options),
  ],
  [
    'on a worker thread',
    (options: EmbeddedVectorStoreOptions): Promise<EmbeddedStore> =>
      ThreadedEmbeddedVectorStore.open(options),
  ],
])('EmbeddedVectorStore persistence and rebuild, %s', (_where, openStore) => {
  /** Stores a test leaves open (its "crashes"): their threads end after it, unsaved. */
  let opened: EmbeddedStore[] = [];
  const open = async (options: EmbeddedVectorStoreOptions): Promise<EmbeddedStore> => {
    const store = await openStore(options);
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened) if (store instanceof ThreadedEmbeddedVectorStore) await store.kill();
    opened = [];
  });
  let dir: string;
  let log: string[];
  beforeEach(async () => {
    dir = await tempDir();
    log = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const collect = (message: string): void => void log.push(message);

  it('after a crash, rebuilds to exactly the source content when the source is newer', async () => {
    const source = new MemorySource();
    const key = 't-1--tweets--model-1';
    const crashed = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    await crashed.ensureCollection(key, 16);
    const first = makePoints('a', 200, 16, 20);
    await crashed.upsert(key, first);
    source.write(key, 16, 'v1', first);
    crashed.setVersion(key, 'v1');
    await crashed.flush();

    // Written after the flush and lost in the crash: the database moved on to v2 ...
    const second = makePoints('b', 100, 16, 21);
    await crashed.upsert(key, second);
    await crashed.delete(key, ['a-1', 'a-2', 'a-3']);
    source.write(key, 16, 'v2', second, ['a-1', 'a-2', 'a-3']);
    crashed.setVersion(key, 'v2');
    // ... and this write never reached the database, so the rebuild must not bring it back.
    await crashed.upsert(key, makePoints('rogue', 1, 16, 22));
    // The crash: `crashed` is dropped without close(); nothing after the flush reached the disk.

    const reopened = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([
        expect.stringMatching(
          new RegExp(`^Rebuilt vector collection ${key} .*version v1 on disk, v2 in source.*297 points`),
        ),
      ]);
      await expectExactly(reopened, key, source.content(key));
      expect(await reopened.delete(key, ['a-1', 'rogue-0'])).toBe(0);
    } finally {
      await reopened.close();
    }
  });

  it('after a crash, loads from disk with identical search results when the saved version matches', async () => {
    const source = new MemorySource();
    const key = 't-1--docs--model-1';
    const crashed = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    await crashed.ensureCollection(key, 16);
    const content = [...makePoints('a', 150, 16, 23), ...makePoints('b', 150, 16, 24)];
    await crashed.upsert(key, content);
    await crashed.delete(key, ['a-7']);
    source.write(key, 16, 'v1', content, ['a-7']);
    crashed.setVersion(key, 'v1');
    await crashed.flush();
    const queries = randomVectors(8, 16, 25);
    const atFlush = await searchAll(crashed, key, queries);
    // Unflushed and not in the source (the database never committed it): gone after the crash.
    await crashed.upsert(key, makePoints('a', 5, 16, 26));

    const reopened = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([]);
      expect(source.reads).toEqual([]);
      expect(await searchAll(reopened, key, queries)).toEqual(atFlush);
      await expectExactly(reopened, key, source.content(key));
    } finally {
      await reopened.close();
    }
  });

  it('rebuilds a collection whose index file is corrupt instead of crashing', async () => {
    const source = new MemorySource();
    const key = 'corrupt-index';
    const content = makePoints('a', 120, 8, 27);
    source.write(key, 8, 'v1', content);
    // Missing files: built from the source on open.
    const first = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    expect(log).toEqual([
      expect.stringMatching(/^Rebuilt vector collection corrupt-index from source \(no files on disk\)/),
    ]);
    await first.close();

    // Same size, random bytes: usearch would abort the process on this file if it were loaded.
    const indexPath = path.join(dir, key, INDEX_FILE);
    await writeFile(indexPath, randomBytes((await stat(indexPath)).size));
    log = [];
    const second = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    expect(log).toEqual([
      `Vector collection ${key} on disk could not be loaded: the index file does not match the checksum in the sidecar`,
      expect.stringMatching(
        /^Rebuilt vector collection corrupt-index from source \(the index file does not match/,
      ),
    ]);
    await expectExactly(second, key, content);
    await second.close();

    // A torn sidecar is caught the same way.
    const metaPath = path.join(dir, key, META_FILE);
    await writeFile(metaPath, (await readFile(metaPath, 'utf8')).slice(0, 500));
    log = [];
    const third = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    expect(log).toEqual([
      expect.stringMatching(/^Vector collection corrupt-index on disk could not be loaded: /),
      expect.stringMatching(/^Rebuilt vector collection corrupt-index from source \(/),
    ]);
    await expectExactly(third, key, content);
    await third.close();
  });

  it('rebuilds one collection on demand from the version read before its points, leaving the others', async () => {
    const source = new MemorySource();
    const [key, other] = ['missed-writes', 'untouched'];
    source.write(key, 8, '1', makePoints('a', 50, 8, 40));
    source.write(other, 8, '7', makePoints('o', 20, 8, 41));
    const store = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    try {
      source.reads.length = 0;
      // Writes the store never heard of (a lost log entry), and one landing while the points are read.
      source.write(key, 8, '2', makePoints('b', 30, 8, 42), ['a-0']);
      const atTwo = source.content(key);
      const points = source.points.bind(source);
      let late = false;
      source.points = async function* (k: string) {
        for await (const batch of points(k)) {
          if (!late) source.write(key, 8, '3', makePoints('c', 5, 8, 43));
          late = true;
          yield batch;
        }
      };
      const rebuilt = await store.rebuild(key, 'a test');
      // The version read first: older than (or as new as) the points, so a later check finds the rest.
      expect(rebuilt).toEqual({ key, reason: 'a test', count: 79, version: '2' });
      expect(store.versionOf(key)).toBe('2');
      expect(source.reads).toEqual([key]);
      await expectExactly(store, key, atTwo);
      expect(store.versionOf(other)).toBe('7');
      expect(await store.sourceVersions()).toEqual(
        new Map([
          [key, '3'],
          [other, '7'],
        ]),
      );
      expect(await store.rebuild('gone-from-source', 'a test')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('saves changed collections periodically, without being asked', async () => {
    const store = await open({ dir, saveEveryMs: 20 });
    try {
      await store.ensureCollection('periodic', 4);
      await store.upsert('periodic', makePoints('p', 10, 4, 33));
      const saved = path.join(dir, 'periodic', META_FILE);
      for (let i = 0; i < 200 && !existsSync(saved); i++) await new Promise((r) => setTimeout(r, 10));
      expect(existsSync(path.join(dir, 'periodic', INDEX_FILE))).toBe(true);
      // What the timer saved loads by itself (a crash now would lose nothing).
      const copy = await mkdtemp(path.join(tmpdir(), 'tributary-periodic-'));
      try {
        await rm(copy, { recursive: true, force: true });
        await cp(path.join(dir, 'periodic'), path.join(copy, 'periodic'), { recursive: true });
        const loaded = await open({ dir: copy, saveEveryMs: NEVER });
        expect(await loaded.info('periodic')).toEqual({ key: 'periodic', dimensions: 4, count: 10 });
        await loaded.close();
      } finally {
        await rm(copy, { recursive: true, force: true });
      }
    } finally {
      await store.close();
    }
  });

  it('without a source, skips a corrupt collection and loads the others', async () => {
    const store = await open({ dir, saveEveryMs: NEVER });
    await store.ensureCollection('good', 4);
    await store.ensureCollection('bad', 4);
    await store.upsert('good', makePoints('g', 10, 4, 29));
    await store.upsert('bad', makePoints('b', 10, 4, 30));
    await store.close();
    await writeFile(path.join(dir, 'bad', INDEX_FILE), 'not an index');

    const reopened = await open({ dir, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([
        expect.stringMatching(/^Vector collection bad on disk could not be loaded: the index file/),
      ]);
      expect(await reopened.list()).toEqual([{ key: 'good', dimensions: 4, count: 10 }]);
    } finally {
      await reopened.close();
    }
  });

  it('drops at open the aliases whose collection did not come back, and starts without an unreadable alias file', async () => {
    const store = await open({ dir, saveEveryMs: NEVER });
    await store.ensureCollection('kept', 4);
    await store.ensureCollection('lost', 4);
    await store.upsert('kept', makePoints('k', 3, 4, 53));
    await store.alias('to-kept', 'kept');
    await store.alias('to-lost', 'lost');
    await store.close();
    await rm(path.join(dir, 'lost'), { recursive: true });

    const reopened = await open({ dir, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([expect.stringMatching(/^Dropped vector collection alias to-lost: it named lost/)]);
      expect(await reopened.info('to-kept')).toEqual({ key: 'kept', dimensions: 4, count: 3 });
      expect(await reopened.info('to-lost')).toBeUndefined();
    } finally {
      await reopened.close();
    }
    expect(JSON.parse(await readFile(path.join(dir, 'aliases.json'), 'utf8'))).toEqual({
      format: 1,
      aliases: { 'to-kept': 'kept' },
    });

    await writeFile(path.join(dir, 'aliases.json'), '{ not json');
    log.length = 0;
    const again = await open({ dir, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([expect.stringMatching(/^Vector collection aliases on disk could not be loaded/)]);
      expect(await again.info('to-kept')).toBeUndefined();
      expect((await again.info('kept'))?.count).toBe(3);
    } finally {
      await again.close();
    }
  });

  it('rebuilds when the source has other dimensions, and fails loudly when a rebuild fails', async () => {
    const store = await open({ dir, saveEveryMs: NEVER });
    await store.ensureCollection('resized', 4);
    await store.upsert('resized', makePoints('r', 5, 4, 31));
    store.setVersion('resized', 'v1');
    await store.close();

    const source = new MemorySource();
    const content = makePoints('s', 7, 8, 32);
    source.write('resized', 8, 'v1', content);
    const reopened = await open({ dir, source, saveEveryMs: NEVER, log: collect });
    expect(log).toEqual([expect.stringMatching(/\(dimensions 4 on disk, 8 in source\)/)]);
    await expectExactly(reopened, 'resized', content);
    await reopened.close();

    source.write('broken', 8, 'v1', [{ id: 'x', vector: new Float32Array(3), payload: {} }]);
    await expect(open({ dir, source, saveEveryMs: NEVER, log: collect })).rejects.toThrow(
      new VectorStoreError('Failed to rebuild vector collections from source: broken'),
    );
    expect(log.at(-1)).toMatch(
      /^Failed to rebuild vector collection broken from source: Point "x": the vector has 3/,
    );
  });

  it('reaches every point: each of 5,000 batch-inserted points is found by its own vector', async () => {
    // usearch's multi-threaded add leaves a few nodes unreachable; the store must not. Searched on
    // the graph (no exact bound), where the flat copy would otherwise answer.
    const store = await open({ dir, saveEveryMs: NEVER, search: { exactMaxFloats: 0 } });
    try {
      await store.ensureCollection('reach', 32);
      const stored = makePoints('r', 5000, 32, 36);
      await store.upsert('reach', stored);
      const lost: string[] = [];
      for (const point of stored) {
        const [hit] = await store.search('reach', { vector: point.vector, k: 1 });
        if (hit?.id !== point.id) lost.push(point.id);
      }
      expect(lost).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('saves changed collections every saveEveryMs without a flush', async () => {
    const store = await open({ dir, saveEveryMs: 20 });
    try {
      await store.ensureCollection('timed', 4);
      await store.upsert('timed', makePoints('t', 25, 4, 33));
      const meta = path.join(dir, 'timed', META_FILE);
      const deadline = Date.now() + 10_000;
      while (!existsSync(meta) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));

      const reader = await open({ dir, saveEveryMs: NEVER });
      expect(await reader.info('timed')).toEqual({ key: 'timed', dimensions: 4, count: 25 });
      await reader.close();
    } finally {
      await store.close();
    }
  });
});

describe('EmbeddedVectorStore exact scores, near-duplicate groups', () => {
  let dir: string;
  let log: string[];
  beforeEach(async () => {
    dir = await tempDir();
    log = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const collect = (message: string): void => void log.push(message);

  /** Share of true top-10 hits found (a hit tying with the 10th true score counts, as in bench:recall). */
  async function recallAt10(
    store: EmbeddedVectorStore,
    key: string,
    content: VectorPoint[],
    queries: Float32Array[],
  ): Promise<number> {
    let found = 0;
    for (const query of queries) {
      const scores = content.map((point) => cosine(point.vector, query)).sort((a, b) => b - a);
      const bar = (scores[9] as number) - 1e-5;
      const byId = new Map(content.map((point) => [point.id, point]));
      for (const hit of await store.search(key, { vector: query, k: 10 })) {
        if (cosine((byId.get(hit.id) as VectorPoint).vector, query) >= bar) found++;
      }
    }
    return found / (queries.length * 10);
  }

  it('meets recall@10 ≥ 0.99 on 10,000 duplicate-heavy 512-d points (above the former 2^21 bound)', async () => {
    const { distinct, crowd } = duplicateHeavyVectors(200, 9800, 512, 51);
    const content = [
      ...distinct.map((vector, i) => ({ id: `d${i}`, vector, payload: {} })),
      ...crowd.map((vector, i) => ({ id: `c${i}`, vector, payload: {} })),
    ];
    // Each distinct point by its own vector, crowd members, and blends of the two.
    const queries = [
      ...distinct.slice(0, 60),
      ...crowd.filter((_, i) => i % 490 === 3),
      ...distinct.slice(60, 80).map((v, i) => v.map((x, d) => x + ((crowd[i] as Float32Array)[d] as number))),
    ];
    const store = await EmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    try {
      await store.ensureCollection('crowded', 512);
      for (let start = 0; start < content.length; start += 1000) {
        await store.upsert('crowded', content.slice(start, start + 1000));
      }
      expect(await recallAt10(store, 'crowded', content, queries)).toBeGreaterThanOrEqual(0.99);
      for (const point of content.slice(0, 60)) {
        expect((await store.search('crowded', { vector: point.vector, k: 1 }))[0]?.id).toBe(point.id);
      }
    } finally {
      await store.close();
    }
    // Generating and brute-forcing 10,000 × 512-d in JS takes most of this on a loaded machine.
  }, 240_000);

  it('keeps the float32 vectors and the index in step through deletes, upserts of the same id, save and reopen', async () => {
    const key = 'churn';
    const dimensions = 48;
    const expected = new Map(makePoints('p', 1200, dimensions, 52).map((point) => [point.id, point]));
    const store = await EmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    await store.ensureCollection(key, dimensions);
    await store.upsert(key, [...expected.values()]);
    // Deletes move other rows into the freed places; upserts of an existing id overwrite its row.
    const deleted = [...expected.keys()].filter((_, i) => i % 3 === 0);
    expect(await store.delete(key, deleted)).toBe(deleted.length);
    for (const id of deleted) expected.delete(id);
    const replacements = makePoints('r', 200, dimensions, 53);
    const moved = [...expected.keys()].filter((_, i) => i % 4 === 1).slice(0, 200);
    const upserts = moved.map((id, i) => ({
      id,
      vector: (replacements[i] as VectorPoint).vector,
      payload: { moved: true },
    }));
    await store.upsert(key, upserts);
    for (const point of upserts) expected.set(point.id, point);
    await store.upsert(key, makePoints('n', 50, dimensions, 54));
    for (const point of makePoints('n', 50, dimensions, 54)) expected.set(point.id, point);
    const queries = randomVectors(20, dimensions, 55);
    const before = await Promise.all(queries.map((vector) => store.search(key, { vector, k: 10 })));
    await store.close();

    const reopened = await EmbeddedVectorStore.open({ dir, saveEveryMs: NEVER, log: collect });
    // The same files searched on the HNSW graph alone, not the flat copy.
    const onGraph = await EmbeddedVectorStore.open({
      dir,
      saveEveryMs: NEVER,
      search: { exactMaxFloats: 0 },
    });
    try {
      expect(log).toEqual([]);
      const content = [...expected.values()];
      expect(await Promise.all(queries.map((vector) => reopened.search(key, { vector, k: 10 })))).toEqual(
        before,
      );
      expect(await recallAt10(reopened, key, content, queries)).toBe(1);
      // Scored on the float32 copy: exact cosines (to 1e-6), not the f16 index's rounding (1e-5 to 1e-3).
      const byId = new Map(content.map((point) => [point.id, point]));
      for (const [i, hits] of before.entries()) {
        for (const hit of hits) {
          const exact = cosine((byId.get(hit.id) as VectorPoint).vector, queries[i] as Float32Array);
          expect(Math.abs(hit.score - exact)).toBeLessThan(1e-6);
        }
      }
      // One row per point was saved beside the index.
      expect((await stat(path.join(dir, key, FLAT_FILE))).size).toBe(content.length * dimensions * 4);
      for (const point of content) {
        for (const subject of [reopened, onGraph]) {
          const [hit] = await subject.search(key, { vector: point.vector, k: 1 });
          expect(hit?.id).toBe(point.id);
          expect(hit?.payload).toEqual(point.payload);
        }
      }
      // Filtered search on the flat copy: exactly the moved points, best first.
      const filtered = await reopened.search(key, {
        vector: queries[0] as Float32Array,
        k: 500,
        filter: { moved: true },
      });
      expect(filtered.map((hit) => hit.id).sort()).toEqual([...moved].sort());
      expect(await reopened.delete(key, deleted.slice(0, 5))).toBe(0);
    } finally {
      await onGraph.close();
      await reopened.close();
    }
  });

  /** Ids saved as members of a near-duplicate group (the sidecar's entries with a representative). */
  async function savedMembers(key: string): Promise<Set<string>> {
    const lines = (await readFile(path.join(dir, key, META_FILE), 'utf8')).trimEnd().split('\n').slice(1);
    return new Set(
      lines
        .map((line) => JSON.parse(line) as unknown[])
        .flatMap((entry) => (entry.length === 4 ? [entry[0] as string] : [])),
    );
  }

  it('keeps near-duplicates out of the graph, saved as group members; the graph path answers like the exact one', async () => {
    const key = 'crowded';
    const dimensions = 64;
    const { distinct, crowd } = duplicateHeavyVectors(150, 5850, dimensions, 61);
    const content: VectorPoint[] = [
      ...distinct.map((vector, i) => ({ id: `d${i}`, vector, payload: {} })),
      ...crowd.map((vector, i) => ({ id: `c${i}`, vector, payload: { crowd: true } })),
    ];
    // No exact bound: every search walks the graph for representatives, then scans groups.
    const onGraph = { exactMaxFloats: 0 };
    const store = await EmbeddedVectorStore.open({ dir, saveEveryMs: NEVER, search: onGraph });
    await store.ensureCollection(key, dimensions);
    for (let start = 0; start < content.length; start += 500)
      await store.upsert(key, content.slice(start, start + 500));
    await store.flush();
    const members = await savedMembers(key);
    // The crowd (cosine ≈ 0.95 to one another) folded into groups; the distinct points stayed in the graph.
    expect(members.size).toBeGreaterThan(crowd.length * 0.95);
    expect(distinct.some((_, i) => members.has(`d${i}`))).toBe(false);

    const live = content;
    const queries = [
      ...distinct.slice(0, 40),
      ...crowd.filter((_, i) => i >= 300 && i % 250 === 7),
      ...distinct
        .slice(40, 60)
        .map((v, i) => v.map((x, d) => x + ((crowd[300 + i] as Float32Array)[d] as number))),
    ];
    expect(await recallAt10(store, key, live, queries)).toBeGreaterThanOrEqual(0.99);
    const before = await Promise.all(queries.map((vector) => store.search(key, { vector, k: 10 })));
    await store.close();

    const reopened = await EmbeddedVectorStore.open({
      dir,
      saveEveryMs: NEVER,
      search: onGraph,
      log: collect,
    });
    // The same files searched exactly (every representative scored, every group bounded).
    const exact = await EmbeddedVectorStore.open({
      dir,
      saveEveryMs: NEVER,
      search: { exactMaxFloats: 1 << 30 },
    });
    try {
      expect(log).toEqual([]);
      expect(await Promise.all(queries.map((vector) => reopened.search(key, { vector, k: 10 })))).toEqual(
        before,
      );
      // Scanned natively instead of scored one by one: the same hits, scores equal to float32
      // rounding (so near-ties may swap places).
      const exactHits = await Promise.all(queries.map((vector) => exact.search(key, { vector, k: 10 })));
      const idSets = (all: SearchHit[][]) => all.map((hits) => hits.map((hit) => hit.id).sort());
      expect(idSets(exactHits)).toEqual(idSets(before));
      for (const [i, hits] of exactHits.entries()) {
        const scores = new Map((before[i] as SearchHit[]).map((hit) => [hit.id, hit.score]));
        for (const hit of hits)
          expect(Math.abs(hit.score - (scores.get(hit.id) as number))).toBeLessThan(1e-6);
      }
      for (const point of live) {
        const [hit] = await reopened.search(key, { vector: point.vector, k: 1 });
        expect(hit?.id).toBe(point.id);
        expect(hit?.payload).toEqual(point.payload);
      }
    } finally {
      await exact.close();
      await reopened.close();
    }
  }, 120_000);

  it('rebuilds files saved before near-duplicate groups from the source', async () => {
    const key = 'legacy';
    const source = new MemorySource();
    const content = makePoints('g', 40, 16, 63);
    source.write(key, 16, 'v1', content);
    const store = await EmbeddedVectorStore.open({ dir, source, saveEveryMs: NEVER });
    await store.close();
    const meta = path.join(dir, key, META_FILE);
    await writeFile(meta, (await readFile(meta, 'utf8')).replace('"format":2', '"format":1'));

    const reopened = await EmbeddedVectorStore.open({ dir, source, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([
        expect.stringMatching(/^Vector collection legacy on disk could not be loaded: saved in format 1/),
        expect.stringMatching(/^Rebuilt vector collection legacy .*saved in format 1.*40 points/),
      ]);
      await expectExactly(reopened, key, content);
    } finally {
      await reopened.close();
    }
  });
});
