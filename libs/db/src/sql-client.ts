import type pg from 'pg';

/** Raw SQL in the `{ query(text, params) → { rows } }` shape of `pg` pools and clients (and PGlite). */
export interface SqlClient {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** Raw SQL that can also run a function inside one transaction. */
export interface TransactionalSqlClient extends SqlClient {
  /** Runs `work` on one connection between BEGIN and COMMIT; rolls back when it throws. */
  transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T>;
}

/**
 * Raw SQL straight over a pg pool (the one Prisma's adapter uses too). The hot paths (ingest,
 * worker writes, vector stores) use it rather than `$queryRawUnsafe`, which runs every statement
 * through Prisma's query compiler first: about a sixth of a worker's main-thread time under load.
 * Values come back as pg parses them: int8 and numeric as strings, bytea as Buffer, jsonb parsed.
 */
export function poolSqlClient(pool: pg.Pool): TransactionalSqlClient {
  return {
    async query<R = Record<string, unknown>>(text: string, params: unknown[] = []) {
      const result = await pool.query(text, params);
      return { rows: result.rows as R[] };
    },
    async transaction<T>(work: (tx: SqlClient) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <R>(text: string, params: unknown[] = []) => ({
            rows: (await client.query(text, params)).rows as R[],
          }),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is dropped from the pool, not reused.
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw err;
      } finally {
        client.release(broken);
      }
    },
  };
}
