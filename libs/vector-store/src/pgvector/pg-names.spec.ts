// eslint-disable-next-line @nx/enforce-module-boundaries -- tests drive the adapter with the SQL clients it serves
import type { PGlite } from '@electric-sql/pglite';
// eslint-disable-next-line @nx/enforce-module-boundaries -- tests drive the adapter with the SQL clients it serves
import type { Pool, PoolClient } from 'pg';
import { collectionRelations, quoteIdentifier } from './pg-names';
import { SqlClient } from './pg-vector-store';

describe('PostgreSQL names for collections', () => {
  it('uses the key itself when it fits', () => {
    expect(collectionRelations('t-1--tweets--use-lite-1')).toEqual({
      table: 'c_t-1--tweets--use-lite-1',
      index: 'h_t-1--tweets--use-lite-1',
      groups: 'g_t-1--tweets--use-lite-1',
      large: 'l_t-1--tweets--use-lite-1',
    });
    expect(collectionRelations('k'.repeat(61)).table).toHaveLength(63);
  });

  it('shortens long keys to 63 bytes with a hash, keeping keys with a shared prefix apart', () => {
    const a = collectionRelations(`${'k'.repeat(200)}a`);
    const b = collectionRelations(`${'k'.repeat(200)}b`);
    expect(a.table).toHaveLength(63);
    expect(a.index).toHaveLength(63);
    expect(a.table).not.toBe(b.table);
    expect(collectionRelations(`${'k'.repeat(200)}a`)).toEqual(a);
    expect(collectionRelations('k'.repeat(62)).table).toMatch(/^c_k{44}_[0-9a-f]{16}$/);
  });

  it('quotes identifiers', () => {
    expect(quoteIdentifier('c_a-b')).toBe('"c_a-b"');
    expect(quoteIdentifier('x"y')).toBe('"x""y"');
  });
});

describe('SqlClient', () => {
  it('is satisfied by pg pools and clients and by PGlite (checked by the compiler)', () => {
    const accepts = (clients: SqlClient[]): number => clients.length;
    const fromClients = (pool: Pool, client: PoolClient, lite: PGlite): number =>
      accepts([pool, client, lite]);
    expect(fromClients).toBeInstanceOf(Function);
  });
});
