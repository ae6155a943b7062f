import type { Schemas } from '@qdrant/js-client-rest' with { 'resolution-mode': 'import' };
import { Payload, PayloadValue } from '../vector-store';

/** Where the caller's point id is kept (the Qdrant point id is a UUID derived from it). */
export const ID_FIELD = '_id';

/** Keys Qdrant takes literally in a filter path (dots and brackets would make it a nested path). */
const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;
const ENCODED = '_x';

/**
 * Payload keys as stored in Qdrant. Keys that Qdrant would read as a path (`a.b`, `tags[]`), and keys
 * that could be mistaken for ours (`_id`, `_x…`), are stored as `_x<hex of UTF-8>`; every other key
 * as is. The mapping is one-to-one, so filters and reads see exactly the caller's keys.
 */
export function qdrantKey(key: string): string {
  return PLAIN_KEY.test(key) && key !== ID_FIELD && !key.startsWith(ENCODED)
    ? key
    : `${ENCODED}${Buffer.from(key, 'utf8').toString('hex')}`;
}

export function callerKey(stored: string): string {
  return stored.startsWith(ENCODED)
    ? Buffer.from(stored.slice(ENCODED.length), 'hex').toString('utf8')
    : stored;
}

export function toQdrantPayload(id: string, payload: Payload): Record<string, PayloadValue> {
  const stored: Record<string, PayloadValue> = { [ID_FIELD]: id };
  for (const [key, value] of Object.entries(payload)) stored[qdrantKey(key)] = value;
  return stored;
}

/** The caller's id and payload back from a stored payload. */
export function fromQdrantPayload(
  pointId: string | number,
  stored: Record<string, unknown> | null | undefined,
): { id: string; payload: Payload } {
  const payload: Payload = {};
  let id = String(pointId);
  for (const [key, value] of Object.entries(stored ?? {})) {
    if (key === ID_FIELD) {
      if (typeof value === 'string') id = value;
    } else {
      payload[callerKey(key)] = value as PayloadValue;
    }
  }
  return { id, payload };
}

/**
 * An exact-match AND filter in Qdrant's terms. `match` takes strings, booleans and integers only, so
 * numbers use a closed range (exact for floats too), and null needs `is_null`.
 */
export function qdrantFilter(filter: [string, PayloadValue][]): Schemas['Filter'] | undefined {
  if (filter.length === 0) return undefined;
  return {
    must: filter.map(([callerField, value]): Schemas['Condition'] => {
      const key = qdrantKey(callerField);
      if (value === null) return { is_null: { key } };
      if (typeof value === 'number') return { key, range: { gte: value, lte: value } };
      return { key, match: { value } };
    }),
  };
}

/** The payload index a filtered key needs, by the type of the value filtered on (none for null). */
export function payloadIndexType(value: PayloadValue): Schemas['PayloadSchemaType'] | undefined {
  if (typeof value === 'string') return 'keyword';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'float';
  return undefined;
}
