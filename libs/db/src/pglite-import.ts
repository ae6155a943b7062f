import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** The repository root (where prisma/ lives). */
const ROOT = path.resolve(__dirname, '../../..');
const MIGRATIONS = path.join(ROOT, 'prisma', 'migrations');
const BATCH_ROWS = 500;

// Prisma's own bookkeeping table, as `prisma migrate deploy` creates it.
const PRISMA_MIGRATIONS_TABLE = `CREATE TABLE "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface ImportPgliteOptions {
  /** The PGlite folder of earlier versions (`DATA_DIR/pglite`, database files in `pgdata/`). */
  pgliteDir: string;
  /** The new server, as its superuser. */
  url: string;
  log: (message: string) => void;
  /** Folder of Prisma migrations. @defaultValue the repository's prisma/migrations */
  migrationsDir?: string;
}

export interface ImportResult {
  /** Rows copied per table. */
  tables: Record<string, number>;
  /** Where the PGlite folder was moved to. */
  movedTo: string;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

function stamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-').slice(0, 19);
}

/** Something that runs SQL: the PGlite instance or a pg client. */
interface Sql {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

async function publicTables(db: Sql): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return rows.map((r) => r.name);
}

async function count(db: Sql, table: string): Promise<number> {
  const { rows } = await db.query<{ n: string | number }>(
    `SELECT count(*)::text AS n FROM public.${quote(table)}`,
  );
  return Number(rows[0]!.n);
}

/**
 * Imports the PGlite database of earlier versions into a freshly created PostgreSQL, once:
 * the migrations the old database had applied are replayed (with Prisma's bookkeeping rows, so
 * `migrate deploy` then applies only the newer ones), every table's rows are copied in one
 * transaction (foreign keys checked by the old database; triggers off while copying), counts are
 * compared before commit, and the PGlite folder is renamed `pglite.migrated-<date>`. Nothing is
 * deleted. Throws a message saying what to do when it cannot import safely.
 */
export async function importPgliteData(options: ImportPgliteOptions): Promise<ImportResult | undefined> {
  const files = path.join(options.pgliteDir, 'pgdata');
  if (!existsSync(path.join(files, 'PG_VERSION'))) return undefined;
  const lock = path.join(options.pgliteDir, 'tributary.lock');
  if (existsSync(lock)) {
    const holder = Number(readFileSync(lock, 'utf8'));
    if (holder && processAlive(holder)) {
      throw new Error(
        `The old embedded database (PGlite) in ${options.pgliteDir} is open in process ${holder} (an older launcher?). Stop it, then start again to import its data.`,
      );
    }
  }
  const migrationsDir = options.migrationsDir ?? MIGRATIONS;
  const known = new Set(
    readdirSync(migrationsDir).filter((n) => existsSync(path.join(migrationsDir, n, 'migration.sql'))),
  );
  options.log(`importing the database of earlier versions (PGlite, ${options.pgliteDir}) into PostgreSQL`);

  // PGlite is imported only here: it is a WebAssembly build and loads in a second or two.
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const old = await PGlite.create({ dataDir: files, extensions: { vector } });
  const target = new pg.Client({ connectionString: options.url });
  await target.connect();
  try {
    const oldTables = await publicTables(old);
    const applied = oldTables.includes('_prisma_migrations')
      ? (
          await old.query<{ migration_name: string; checksum: string }>(
            'SELECT migration_name, checksum FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY started_at, migration_name',
          )
        ).rows
      : [];
    const unknown = applied.filter((m) => !known.has(m.migration_name));
    if (unknown.length > 0) {
      throw new Error(
        `The old embedded database in ${options.pgliteDir} was migrated by a newer Tributary (${unknown.map((m) => m.migration_name).join(', ')}). Run that version, or move the folder away to start without its data.`,
      );
    }
    for (const m of applied) {
      const sql = readFileSync(path.join(migrationsDir, m.migration_name, 'migration.sql'));
      if (createHash('sha256').update(sql).digest('hex') !== m.checksum) {
        throw new Error(
          `Migration ${m.migration_name} differs from the one the old database in ${options.pgliteDir} applied; it cannot be imported safely. Move the folder away to start without its data.`,
        );
      }
    }

    const newTables = await publicTables(target);
    if (newTables.length > 0) {
      // Either an earlier import committed and stopped before renaming, or this server already has data.
      const same = await Promise.all(
        oldTables.map(
          async (t) => newTables.includes(t) && (await count(old, t)) === (await count(target, t)),
        ),
      );
      if (!same.every(Boolean)) {
        throw new Error(
          `Both the old embedded database (PGlite, ${options.pgliteDir}) and the new PostgreSQL hold data, so the old one was not imported. ` +
            `Keep the new data: rename ${options.pgliteDir} (e.g. to pglite.unused). Import the old data instead: stop, delete the new database's folder (DATA_DIR/postgres), start again.`,
        );
      }
      const movedTo = `${options.pgliteDir}.migrated-${stamp()}`;
      await old.close();
      renameSync(options.pgliteDir, movedTo);
      options.log(`the old PGlite data had already been imported; its folder is now ${movedTo}`);
      return { tables: {}, movedTo };
    }

    const tables: Record<string, number> = {};
    await target.query('BEGIN');
    try {
      await target.query('SET LOCAL session_replication_role = replica');
      for (const m of applied) {
        await target.query(readFileSync(path.join(migrationsDir, m.migration_name, 'migration.sql'), 'utf8'));
      }
      if (applied.length > 0) await target.query(PRISMA_MIGRATIONS_TABLE);
      const copied = await publicTables(target);
      const missing = oldTables.filter((t) => !copied.includes(t));
      if (missing.length > 0) {
        throw new Error(
          `The old embedded database in ${options.pgliteDir} has tables its migrations do not create (${missing.join(', ')}); it cannot be imported safely. Move the folder away to start without its data.`,
        );
      }
      for (const table of copied) {
        const { rows: columns } = await target.query<{ name: string }>(
          `SELECT attname AS name FROM pg_attribute
            WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
            ORDER BY attnum`,
          [`public.${quote(table)}`],
        );
        const list = columns.map((c) => quote(c.name)).join(', ');
        await old.exec(
          `BEGIN; DECLARE rows_out NO SCROLL CURSOR FOR SELECT to_jsonb(t)::text AS r FROM public.${quote(table)} t`,
        );
        for (;;) {
          const batch = await old.query<{ r: string }>(`FETCH ${BATCH_ROWS} FROM rows_out`);
          if (batch.rows.length === 0) break;
          await target.query(
            `INSERT INTO public.${quote(table)} (${list}) OVERRIDING SYSTEM VALUE
             SELECT ${list} FROM jsonb_populate_recordset(NULL::public.${quote(table)}, $1::jsonb)`,
            [`[${batch.rows.map((r) => r.r).join(',')}]`],
          );
        }
        await old.exec('CLOSE rows_out; COMMIT');
        const [from, to] = [await count(old, table), await count(target, table)];
        if (from !== to) throw new Error(`copying ${table} gave ${to} rows instead of ${from}`);
        tables[table] = to;
      }
      const { rows: sequences } = await old.query<{ name: string }>(
        "SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public'",
      );
      for (const { name } of sequences) {
        const state = await old.query<{ last_value: string; is_called: boolean }>(
          `SELECT last_value::text, is_called FROM public.${quote(name)}`,
        );
        await target.query('SELECT setval($1::regclass, $2::bigint, $3)', [
          `public.${quote(name)}`,
          state.rows[0]!.last_value,
          state.rows[0]!.is_called,
        ]);
      }
      await target.query('COMMIT');
    } catch (err) {
      await target.query('ROLLBACK').catch(() => undefined);
      throw new Error(
        `Importing the old embedded database (PGlite, ${options.pgliteDir}) failed, and nothing was changed: ${(err as Error).message}. ` +
          'It is still there; to start without its data, move the folder away.',
      );
    }

    const { rows: pgvector } = await old.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'vectors'",
    );
    await old.close();
    const movedTo = `${options.pgliteDir}.migrated-${stamp()}`;
    renameSync(options.pgliteDir, movedTo);
    const rows = Object.values(tables).reduce((a, b) => a + b, 0);
    options.log(
      `imported ${rows} rows of ${Object.keys(tables).length} tables (counts checked); the old folder is now ${movedTo} (delete it when you no longer need it)`,
    );
    if (Number(pgvector[0]!.n) > 0) {
      options.log(
        `the old database also held pgvector collections (schema "vectors"), which this PostgreSQL cannot hold (no pgvector). Item vectors were imported; for VECTOR_STORE=pgvector set DATABASE_URL to a PostgreSQL with pgvector.`,
      );
    }
    return { tables, movedTo };
  } finally {
    await target.end().catch(() => undefined);
    if (!old.closed) await old.close().catch(() => undefined);
  }
}
