// eslint-disable-next-line @nx/enforce-module-boundaries -- tests drive the adapter with the SQL clients it serves
import { PGlite } from '@electric-sql/pglite';
import { collectionRelations, quoteIdentifier } from './pg-names';

/** PostgreSQL keeps at most NAMEDATALEN - 1 bytes of an identifier and silently drops the rest. */
const MAX_IDENTIFIER_BYTES = 63;

describe('PostgreSQL names for collections, in PostgreSQL (PGlite)', () => {
  let db: PGlite;
  beforeAll(async () => {
    db = await PGlite.create();
  }, 60_000);
  afterAll(() => db.close());

  /** The relations in `schema`, as the catalog spells them. */
  async function relationsIn(schema: string): Promise<string[]> {
    const { rows } = await db.query<{ relname: string }>(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1`,
      [schema],
    );
    return rows.map((row) => row.relname).sort();
  }

  it('keeps the relations of keys sharing a long prefix apart, each under exactly the name given', async () => {
    // The longest keys allowed (201 characters), differing only at the end, and keys at the limit.
    const keys = [
      `${'k'.repeat(200)}a`,
      `${'k'.repeat(200)}b`,
      `${'k'.repeat(60)}-a`,
      `${'k'.repeat(60)}-b`,
      'k'.repeat(61),
      'k'.repeat(62),
      't-1--tweets--use-lite-1',
    ];
    await db.exec('CREATE SCHEMA names');
    const expected: string[] = [];
    for (const key of keys) {
      const { table, index, groups, large } = collectionRelations(key);
      const relation = `names.${quoteIdentifier(table)}`;
      // The statements the store runs, on a plain table (the names, not pgvector, are under test).
      await db.exec(`
        CREATE TABLE ${relation} (id text, rep text, members integer);
        CREATE INDEX ${quoteIdentifier(index)} ON ${relation} (id) WHERE rep IS NULL;
        CREATE INDEX ${quoteIdentifier(groups)} ON ${relation} (rep) WHERE rep IS NOT NULL;
        CREATE INDEX ${quoteIdentifier(large)} ON ${relation} (id) WHERE rep IS NULL AND members >= 64;
        INSERT INTO ${relation} (id) VALUES ('${key}');
      `);
      for (const name of [table, index, groups, large]) {
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
      }
      expected.push(table, index, groups, large);
    }
    // Nothing truncated or merged: every name is in the catalog as written, one relation each.
    expect(await relationsIn('names')).toEqual(expected.sort());
    // Each key's rows are in its own table.
    for (const key of keys) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM names.${quoteIdentifier(collectionRelations(key).table)}`,
      );
      expect(rows).toEqual([{ id: key }]);
    }
  });

  it('would merge those keys under the plain c_<key> name (why long keys get a hash)', async () => {
    await db.exec('CREATE SCHEMA plain');
    await db.exec(`CREATE TABLE plain.${quoteIdentifier(`c_${'k'.repeat(200)}a`)} (id text)`);
    await expect(
      db.exec(`CREATE TABLE plain.${quoteIdentifier(`c_${'k'.repeat(200)}b`)} (id text)`),
    ).rejects.toThrow(/already exists/);
    expect(await relationsIn('plain')).toEqual([`c_${'k'.repeat(61)}`]);
  });

  it('quotes identifiers so PostgreSQL reads them back unchanged', async () => {
    const names = ['c_a-b', 'x"y', 'Mixed Case', 'select'];
    await db.exec('CREATE SCHEMA quoted');
    for (const name of names) await db.exec(`CREATE TABLE quoted.${quoteIdentifier(name)} (id text)`);
    expect(await relationsIn('quoted')).toEqual([...names].sort());
    expect(quoteIdentifier('x"y')).toBe('"x""y"');
  });
});
