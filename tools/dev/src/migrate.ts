import path from 'node:path';
import { loadConfig } from '@tributary/config';
import { runMigrations, startEmbeddedPostgres } from '@tributary/db';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * `npm run db:migrate`: applies migrations to DATABASE_URL, or, when it is unset, to the embedded
 * PGlite database under DATA_DIR (opened just for this; refused while the launcher holds it,
 * since the launcher migrates on start anyway).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.DATABASE_URL) {
    process.stdout.write(await runMigrations(config.DATABASE_URL));
    return;
  }
  const db = await startEmbeddedPostgres({
    dataDir: path.join(path.resolve(ROOT, config.DATA_DIR), 'pglite'),
  });
  try {
    process.stdout.write(await runMigrations(db.url));
  } finally {
    await db.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
