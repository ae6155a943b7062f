import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgresOptions {
  /** Directory holding the database files. */
  dataDir: string;
  /** Loopback port to serve on; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Concurrent client connections the multiplexer accepts. @defaultValue 64 */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** A `postgresql://` URL that pg, Prisma and psql can use. */
  readonly url: string;
  stop(): Promise<void>;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes an exclusive lock on a PGlite directory. PGlite is a single-process database: two processes
 * (or one process twice) opening the same files corrupt them, so a second opener is refused with
 * the holder's pid. A lock left by a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'tributary.lock');
  try {
    const holder = Number(readFileSync(lockFile, 'utf8'));
    if (holder && processAlive(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is already open in process ${holder}. Stop it first (or point DATABASE_URL at a PostgreSQL server).`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

/**
 * Runs PostgreSQL in-process (PGlite, with pgvector) and serves it over the PostgreSQL wire protocol
 * on a loopback port, so every app and the Prisma CLI reach it exactly as they reach a real server.
 * The socket server multiplexes client connections onto the single PGlite session and keeps a
 * transaction's statements together.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  mkdirSync(options.dataDir, { recursive: true });
  const unlock = lockDataDir(options.dataDir);
  try {
    const db = await PGlite.create({ dataDir: path.join(options.dataDir, 'pgdata'), extensions: { vector } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: options.port ?? 0,
      maxConnections: options.maxConnections ?? 64,
    });
    await server.start();
    const conn = server.getServerConn();
    return {
      url: `postgresql://postgres@${conn}/postgres?sslmode=disable`,
      async stop() {
        await server.stop();
        await db.close();
        unlock();
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
