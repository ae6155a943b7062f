import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool, poolSqlClient, startPgliteSocketServer } from '@tributary/db';
import { buildUseLiteOnnx, loadUseLiteTokenizer, UseLiteEmbedder } from '@tributary/inference';
import {
  EmbeddedVectorStore,
  PgVectorStore,
  type VectorPoint,
  type VectorStore,
} from '@tributary/vector-store';

/**
 * The case issue 9 reported, with the real model and real text: 20 distinct sentences, then 2,000
 * near-identical templated rows (use-lite puts them at cosine 0.87–0.97 to each other). Before
 * near-duplicate groups, HNSW found 5–10 of the 20 by their own text, for k = 10 and k = 100 alike.
 * Each store is searched on its graph alone (no exact search), where the groups do the work.
 */
const SENTENCES = [
  'The ferry to the island leaves every morning at seven.',
  'Quantum computers exploit superposition to explore many states at once.',
  'My grandmother bakes bread with rye flour and caraway seeds.',
  'The central bank raised interest rates by a quarter point.',
  'A lighthouse keeper logs the weather four times a day.',
  'Volcanic soil makes the vineyards on the slope unusually fertile.',
  'The striker scored twice in the final ten minutes of the match.',
  'Glaciers in the Alps have lost a third of their volume since 1980.',
  'Please remember to water the tomatoes while I am away.',
  'The museum reopened its Egyptian wing after a long renovation.',
  'Octopuses can change the texture of their skin to match rocks.',
  'The new compiler release speeds up incremental builds.',
  'A thunderstorm knocked out power across the northern suburbs.',
  'She practised the cello for three hours before the audition.',
  'The recipe calls for two cloves of garlic and a pinch of saffron.',
  'Migrating cranes stop at the lake for a week each autumn.',
  'The court postponed the hearing until next month.',
  'Solar panels on the school roof now cover half its electricity.',
  'He repaired the antique clock with a tiny set of screwdrivers.',
  'The hiking trail climbs through pine forest to a glacial lake.',
];
const TEMPLATED = 2000;

describe('near-duplicates with the real model: 20 sentences among 2,000 templated rows', () => {
  let points: VectorPoint[];
  let sentences: VectorPoint[];

  beforeAll(async () => {
    const embedder = await UseLiteEmbedder.create(buildUseLiteOnnx('use-lite@1'), loadUseLiteTokenizer());
    try {
      const texts = [
        ...SENTENCES,
        ...Array.from({ length: TEMPLATED }, (_, i) => `templated row number ${i}`),
      ];
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += 200) {
        vectors.push(...(await embedder.embed(texts.slice(start, start + 200))));
      }
      points = vectors.map((v, i) => ({
        id: i < SENTENCES.length ? `s${i}` : `t${i}`,
        vector: v,
        payload: {},
      }));
      sentences = points.slice(0, SENTENCES.length);
    } finally {
      await embedder.release();
    }
  }, 120_000);

  async function firstOf(store: VectorStore, key: string, k: number): Promise<string[]> {
    const firsts: string[] = [];
    for (const point of sentences)
      firsts.push((await store.search(key, { vector: point.vector, k }))[0]?.id ?? '');
    return firsts;
  }

  async function load(store: VectorStore, key: string): Promise<void> {
    await store.ensureCollection(key, points[0]!.vector.length);
    // The sentences first, then the crowd: the order in which HNSW lost them.
    for (let start = 0; start < points.length; start += 500)
      await store.upsert(key, points.slice(start, start + 500));
  }

  const ids = () => sentences.map((point) => point.id);

  it('embedded store: each sentence first for its own text, k = 10 and 100, and again after a restart', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tributary-near-duplicates-'));
    const search = { exactMaxFloats: 0 };
    let store = await EmbeddedVectorStore.open({ dir, search });
    try {
      await load(store, 'rows');
      expect(await firstOf(store, 'rows', 10)).toEqual(ids());
      expect(await firstOf(store, 'rows', 100)).toEqual(ids());
      await store.close();
      store = await EmbeddedVectorStore.open({ dir, search });
      expect(await firstOf(store, 'rows', 10)).toEqual(ids());
      expect(await firstOf(store, 'rows', 100)).toEqual(ids());
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('pgvector (PGlite): each sentence first for its own text, k = 10 and 100', async () => {
    // PGlite (PostgreSQL with pgvector, in process) over the wire protocol to one pooled connection,
    // as bench:recall serves it: searches run in transactions as they do in the apps.
    const pg = await startPgliteSocketServer({});
    const pool = createPgPool(pg.url, { poolSize: 1 });
    try {
      const sql = poolSqlClient(pool);
      const store = new PgVectorStore({ sql, search: { exactMaxFloats: 0 } });
      await load(store, 'rows');
      // On the index, as the planner would for a large table (the one connection keeps the setting).
      await sql.query('SET enable_seqscan = off');
      expect(await firstOf(store, 'rows', 10)).toEqual(ids());
      expect(await firstOf(store, 'rows', 100)).toEqual(ids());
      const { rows } = await sql.query<{ members: number }>(
        `SELECT count(*)::int AS members FROM vectors."c_rows" WHERE rep IS NOT NULL`,
      );
      // Most templated rows folded into groups (the rest are representatives in the graph).
      expect(rows[0]!.members).toBeGreaterThan(TEMPLATED / 2);
    } finally {
      await pool.end();
      await pg.stop();
    }
  });
});
