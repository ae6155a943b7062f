import { collectionRelations } from './pg-names';

// What PostgreSQL makes of these names (accepted, kept apart, not truncated) is in pg-names.int-spec.ts.

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
    for (const name of Object.values(a)) expect(name).toHaveLength(63);
    for (const role of ['table', 'index', 'groups', 'large'] as const) expect(a[role]).not.toBe(b[role]);
    expect(collectionRelations(`${'k'.repeat(200)}a`)).toEqual(a);
    expect(collectionRelations('k'.repeat(62)).table).toMatch(/^c_k{44}_[0-9a-f]{16}$/);
  });
});
