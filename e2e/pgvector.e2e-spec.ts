import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool, runMigrations, startEmbeddedPostgres, type EmbeddedPostgres } from '@tributary/db';
import { call } from './support/app-process';
import { drained, newTenant, startPlatform, type Platform } from './support/pipeline';

/**
 * VECTOR_STORE=pgvector through the apps: the worker upserts into pgvector and the API searches it,
 * both over the same pg pool as the rest of their SQL. PostgreSQL here is PGlite with pgvector served
 * over the wire protocol (Debian's PostgreSQL has no pgvector package).
 */
describe('pgvector vector store, end to end (real processes, PGlite with pgvector)', () => {
  let dir: string;
  let pgServer: EmbeddedPostgres;
  let platform: Platform;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-pgvector-'));
    pgServer = await startEmbeddedPostgres({ dataDir: dir });
    await runMigrations(pgServer.url);
    platform = await startPlatform(
      { VECTOR_STORE: 'pgvector' },
      { url: pgServer.url, drop: () => Promise.resolve() },
    );
    await platform.start('api');
    await platform.start('worker');
  });
  afterAll(async () => {
    await platform?.close();
    await pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
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
    expect(await drained(base, key, stream.id)).toEqual({ accepted: 3, embedded: 3, failed: 0, lag: 0 });

    // The points are rows of the collection's pgvector table (not an embedded index).
    const pool = createPgPool(pgServer.url, { poolSize: 1 });
    try {
      const { rows } = await pool.query<{ table_name: string }>('SELECT table_name FROM vectors.collections');
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
    expect(found.body.data[0]).toMatchObject({ id: 'a', text: items[0]!.text, metadata: items[0]!.metadata });
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
});
