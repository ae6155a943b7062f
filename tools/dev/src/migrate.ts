import path from 'node:path';
import { loadConfig } from '@tributary/config';
import { runMigrations, SecretBox, startEmbeddedPostgres } from '@tributary/db';

const ROOT = path.resolve(__dirname, '../../..');

/**
 * `npm run db:migrate`: applies migrations to DATABASE_URL, or, when it is unset, to the embedded
 * PostgreSQL under DATA_DIR/postgres (started just for this, importing earlier versions' PGlite data
 * like the launcher; refused while the launcher holds it, since the launcher migrates on start anyway).
 * Then encrypts plain-text webhook secrets and re-encrypts those under a retired key with
 * SECRETS_ENCRYPTION_KEY (the step after a key rotation).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataDir = path.resolve(ROOT, config.DATA_DIR);
  const secrets = SecretBox.fromConfig(config, dataDir);
  if (config.DATABASE_URL) {
    process.stdout.write(await runMigrations(config.DATABASE_URL, { secrets }));
    return;
  }
  const db = await startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'postgres'),
    port: config.EMBEDDED_POSTGRES_PORT,
    legacyPgliteDir: path.join(dataDir, 'pglite'),
    log: (m) => process.stdout.write(`postgres: ${m}\n`),
  });
  try {
    process.stdout.write(await runMigrations(db.url, { secrets }));
  } finally {
    await db.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
