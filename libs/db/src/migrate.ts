import { spawn } from 'node:child_process';
import path from 'node:path';
import { createPgPool } from './pg-adapter';
import type { SecretBox } from './secret-box';
import { poolSqlClient } from './sql-client';
import { encryptStoredSecrets } from './stored-secrets';

const FINISHED = /All migrations have been successfully applied\.|No pending migrations to apply\./;

/** The repository root (where prisma.config.ts lives). */
const ROOT = path.resolve(__dirname, '../../..');

export interface MigrationOptions {
  /**
   * The keys of stored secrets. With them, every stored webhook secret is then brought under the
   * current key (plain text of earlier versions encrypted, retired keys' ciphertexts re-encrypted):
   * the deployment paths (`npm run db:migrate`, the launcher) always pass them. Without, that step
   * is skipped (fresh test and bench databases hold no secrets).
   */
  secrets?: SecretBox;
}

/**
 * Applies `prisma/migrations` to the database at `url` with `prisma migrate deploy` (the
 * JavaScript schema engine over our pg adapter: no native engine download), then, given the
 * secrets' keys, encrypts or re-encrypts stored secrets ({@link encryptStoredSecrets}). Resolves
 * with the output; rejects with it on failure.
 */
export async function runMigrations(url: string, options: MigrationOptions = {}): Promise<string> {
  const output = await migrateDeploy(url);
  if (!options.secrets) return output;
  const pool = createPgPool(url, { poolSize: 1, allowExitOnIdle: true });
  try {
    const report = await encryptStoredSecrets(poolSqlClient(pool), options.secrets);
    return (
      `${output}Stored secrets: ${report.encrypted} encrypted, ${report.reencrypted} re-encrypted; ` +
      `all under key ${options.secrets.currentKeyId}.\n`
    );
  } finally {
    await pool.end();
  }
}

async function migrateDeploy(url: string): Promise<string> {
  const cli = require.resolve('prisma/build/index.js', { paths: [ROOT] });
  const child = spawn(process.execPath, [cli, 'migrate', 'deploy'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let done = false;
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString();
    // The CLI's JavaScript schema engine leaves a 10 s timer behind after finishing. Its final
    // line is printed once the migrations are committed, so the process can be ended right then.
    if (!done && FINISHED.test(output)) {
      done = true;
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (!done && code !== 0) throw new Error(`prisma migrate deploy failed (exit ${String(code)}):\n${output}`);
  return output;
}
