import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface PgliteSocketServer {
  /** A `postgresql://` URL for pg, Prisma and the Prisma CLI. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * PGlite (PostgreSQL with pgvector, in this process) served over the wire protocol, for tests that
 * need a PGlite database on disk, such as the PGlite data of earlier versions that the embedded
 * PostgreSQL imports. Only for one client at a time: `@electric-sql/pglite-socket` runs every
 * connection on PGlite's single session and keeps only transactions together, so concurrent clients'
 * extended-protocol messages interleave (pglite issue 1046). Never serve several apps with it.
 */
export async function startPgliteSocketServer(options: {
  /** Folder of the database files; unset keeps them in memory. */
  dataDir?: string;
  /** Connections accepted at once (the Prisma CLI opens two, used one after the other). @defaultValue 1 */
  maxConnections?: number;
}): Promise<PgliteSocketServer> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    extensions: { vector },
  });
  await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: 0,
    maxConnections: options.maxConnections ?? 1,
  });
  await server.start();
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
