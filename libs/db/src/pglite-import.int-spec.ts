import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';
import { startPgliteSocketServer } from './pglite-socket-server';
import { createLegacyPgliteData } from './testing/legacy-pglite';

const TABLES = [
  '_prisma_migrations',
  'admin_credential',
  'api_key',
  'collection',
  'item',
  'stream',
  'tenant',
];

/** Every row of every table, as sorted JSON text: what must be equal before and after. */
async function contents(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) {
      const { rows } = await client.query<{ r: string }>(
        `SELECT to_jsonb(t)::text AS r FROM "${table}" t ORDER BY 1`,
      );
      out[table] = rows.map((r) => r.r);
    }
    return out;
  } finally {
    await client.end();
  }
}

describe('importing the PGlite database of earlier versions into the embedded PostgreSQL', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-import-'));
    chmodSync(dataDir, 0o755);
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('copies every row once, keeps Prisma’s migration history, and moves the old folder aside', async () => {
    const legacy = await createLegacyPgliteData(path.join(dataDir, 'pglite'));
    const messages: string[] = [];
    const server = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      legacyPgliteDir: path.join(dataDir, 'pglite'),
      log: (m) => messages.push(m),
    });
    let imported: Record<string, string[]>;
    let held = 0;
    let tableCount = 0;
    try {
      imported = await contents(server.url);
      expect(imported['tenant']).toHaveLength(1);
      expect(imported['item']).toHaveLength(3);
      expect(JSON.parse(imported['tenant']![0]!)).toMatchObject({
        id: legacy.tenantId,
        name: legacy.tenantName,
      });
      // Nothing left to apply: the history came along, so `migrate deploy` sees its own migrations.
      expect(await runMigrations(server.url)).toContain('No pending migrations to apply.');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ vector: Buffer; metadata: unknown; accepted_count: string }>(
        `SELECT i.vector, i.metadata, s.accepted_count::text FROM item i JOIN stream s ON s.id = i.stream_id WHERE i.id = 'beta'`,
      );
      expect([...new Float32Array(new Uint8Array(rows[0]!.vector).buffer)]).toEqual([
        ...new Float32Array(legacy.items[1]!.vector),
      ]);
      expect(rows[0]!.metadata).toEqual(legacy.items[1]!.metadata);
      expect(rows[0]!.accepted_count).toBe('3');
      // What the import says it copied is what the new server holds, table by table (the schema's
      // tables, however many migrations have added).
      const { rows: tables } = await client.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      );
      for (const { name } of tables) {
        const { rows: counted } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${name}"`,
        );
        held += counted[0]!.n;
      }
      tableCount = tables.length;
      await client.end();
    } finally {
      await server.stop();
    }
    expect(tableCount).toBeGreaterThanOrEqual(14);
    expect(messages.join('\n')).toContain(`imported ${held} rows of ${tableCount} tables (counts checked)`);
    expect(existsSync(path.join(dataDir, 'pglite'))).toBe(false);
    const moved = readdirSync(dataDir).filter((n) => n.startsWith('pglite.migrated-'));
    expect(moved).toHaveLength(1);

    // The old database is untouched and holds exactly what the new one received.
    const old = await startPgliteSocketServer({ dataDir: path.join(dataDir, moved[0]!, 'pgdata') });
    try {
      expect(await contents(old.url)).toEqual(imported);
    } finally {
      await old.stop();
    }

    // Started again: nothing to import, the data stays.
    messages.length = 0;
    const again = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      legacyPgliteDir: path.join(dataDir, 'pglite'),
      log: (m) => messages.push(m),
    });
    try {
      expect(messages.join('\n')).not.toContain('importing');
      expect((await contents(again.url))['item']).toHaveLength(3);
    } finally {
      await again.stop();
    }
  }, 180_000);

  it('refuses, saying what to do, when the new server already holds other data', async () => {
    const server = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
    try {
      await runMigrations(server.url);
    } finally {
      await server.stop();
    }
    await createLegacyPgliteData(path.join(dataDir, 'pglite'));
    await expect(
      startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        legacyPgliteDir: path.join(dataDir, 'pglite'),
      }),
    ).rejects.toThrow(
      /Both the old embedded database \(PGlite, .*\) and the new PostgreSQL hold data.*rename/,
    );
    expect(existsSync(path.join(dataDir, 'pglite', 'pgdata'))).toBe(true);
    // The refusal released the lock and stopped the server it had started.
    const after = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
    await after.stop();
  }, 180_000);
});
