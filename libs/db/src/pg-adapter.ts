import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

const OID_CHAR = 18;
const OID_NAME = 19;
const OID_TEXT = 25;

type QueryCallback = (err: Error | null, result: pg.QueryResult | pg.QueryResult[]) => void;

function retypeCatalogColumns<T>(result: T): T {
  const results = Array.isArray(result) ? (result as unknown[]) : [result];
  for (const r of results) {
    const fields = (r as Partial<pg.QueryResult> | undefined)?.fields;
    if (!fields) continue;
    for (const field of fields) {
      if (field.dataTypeID === OID_NAME || field.dataTypeID === OID_CHAR) field.dataTypeID = OID_TEXT;
    }
  }
  return result;
}

/**
 * A pg client that reports the catalog types `name` and `"char"` as `text`. Prisma's pg adapter has
 * no column type for them ("Column type 'name' could not be deserialized"), which breaks the schema
 * engine's introspection queries in `migrate deploy`/`migrate diff` against PostgreSQL and PGlite.
 * pg already returns both as strings, so only the reported type changes.
 */
class CatalogAsTextClient extends pg.Client {
  override query(...args: unknown[]): never {
    const callbackAt = args.findIndex((a) => typeof a === 'function');
    if (callbackAt >= 0) {
      const callback = args[callbackAt] as QueryCallback;
      args[callbackAt] = ((err, result) =>
        callback(err, err ? result : retypeCatalogColumns(result))) as QueryCallback;
      return (super.query as (...a: unknown[]) => never)(...args);
    }
    const returned = (super.query as (...a: unknown[]) => unknown)(...args);
    if (returned instanceof Promise) return returned.then(retypeCatalogColumns) as never;
    return returned as never;
  }
}

export interface PgAdapterOptions {
  /** Connections in the pool. @defaultValue 10 */
  poolSize?: number;
  /** Called when an idle pooled connection fails (the pool replaces it). */
  onPoolError?: (err: Error) => void;
  /** Let the process exit while idle connections remain (for one-shot CLI commands). @defaultValue false */
  allowExitOnIdle?: boolean;
}

/** A pg pool for one PostgreSQL (or PGlite socket) URL, with the client class Prisma's adapter needs. */
export function createPgPool(url: string, options: PgAdapterOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    allowExitOnIdle: options.allowExitOnIdle ?? false,
    Client: CatalogAsTextClient,
  });
  if (options.onPoolError) pool.on('error', options.onPoolError);
  return pool;
}

/**
 * The Prisma driver adapter over one pool (created from `url`, or given), which it owns: the
 * client's `$disconnect()` ends it. The shadow database of `migrate dev` is built from the same
 * pool configuration and so gets the same client class.
 */
export function createPgAdapter(urlOrPool: string | pg.Pool, options: PgAdapterOptions = {}): PrismaPg {
  const pool = typeof urlOrPool === 'string' ? createPgPool(urlOrPool, options) : urlOrPool;
  return new PrismaPg(pool, { disposeExternalPool: true });
}
