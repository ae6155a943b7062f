import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers beyond 63 bytes (NAMEDATALEN - 1). */
const MAX_IDENTIFIER = 63;

/** Schema names accepted for the store's tables. */
export const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Table and index names for a collection key. Keys (≤ 201 characters) can outgrow PostgreSQL's
 * 63-byte identifiers, so long keys keep a readable prefix plus a hash of the whole key; the
 * catalog's unique table name turns an (astronomically unlikely) clash into an error, not shared data.
 */
export function collectionRelations(key: string): {
  table: string;
  /** The HNSW index over the points in the graph (not in a near-duplicate group). */
  index: string;
  /** Group members by representative. */
  groups: string;
  /** Representatives of large groups. */
  large: string;
} {
  const body =
    key.length + 2 <= MAX_IDENTIFIER
      ? key
      : `${key.slice(0, MAX_IDENTIFIER - 2 - 17)}_${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  return { table: `c_${body}`, index: `h_${body}`, groups: `g_${body}`, large: `l_${body}` };
}
