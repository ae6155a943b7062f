import { Payload, PayloadValue, SearchQuery, VectorPoint, VectorStoreError } from './vector-store';

/** Collection keys: lowercase, safe as a directory, table or Qdrant collection name. */
export const COLLECTION_KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,200}$/;
export const MAX_ID_LENGTH = 256;
/** pgvector's `vector` type holds at most 16,000 dimensions. */
export const MAX_DIMENSIONS = 16_000;
export const MAX_PAYLOAD_KEY_LENGTH = 256;

/** Runs synchronous work as a promise, so a thrown error becomes a rejection rather than escaping the call. */
export function promised<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

export function assertCollectionKey(key: string): void {
  if (typeof key !== 'string' || !COLLECTION_KEY_PATTERN.test(key)) {
    throw new VectorStoreError(
      `Invalid collection key ${JSON.stringify(key)}: expected ${String(COLLECTION_KEY_PATTERN)}`,
    );
  }
}

export function assertDimensions(dimensions: number): void {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > MAX_DIMENSIONS) {
    throw new VectorStoreError(
      `Invalid dimensions ${String(dimensions)}: expected an integer from 1 to ${MAX_DIMENSIONS}`,
    );
  }
}

export function assertPrefix(prefix: string | undefined): void {
  if (prefix !== undefined && typeof prefix !== 'string') {
    throw new VectorStoreError('The list prefix must be a string');
  }
}

export function isFloat32Array(value: unknown): value is Float32Array {
  // A native addon or another realm (jest's sandbox) may hand over its own Float32Array constructor.
  return value instanceof Float32Array || Object.prototype.toString.call(value) === '[object Float32Array]';
}

export function assertVector(vector: Float32Array, dimensions: number, what: string): void {
  if (!isFloat32Array(vector)) throw new VectorStoreError(`${what}: the vector must be a Float32Array`);
  if (vector.length !== dimensions) {
    throw new VectorStoreError(
      `${what}: the vector has ${vector.length} dimensions, the collection ${dimensions}`,
      'dimension_mismatch',
    );
  }
  let norm = 0;
  for (const x of vector) {
    if (!Number.isFinite(x)) throw new VectorStoreError(`${what}: the vector holds a non-finite value`);
    norm += x * x;
  }
  // Cosine similarity with a zero vector is undefined (NaN in pgvector, refused by usearch/Qdrant).
  if (norm === 0) throw new VectorStoreError(`${what}: the vector is all zeros`);
}

export function assertId(id: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || id.includes('\u0000')) {
    throw new VectorStoreError(
      `Invalid point id ${JSON.stringify(id)}: expected 1 to ${MAX_ID_LENGTH} characters without NUL`,
    );
  }
}

function assertPayloadValue(value: unknown, where: string): asserts value is PayloadValue {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw new VectorStoreError(`${where}: numbers must be finite`);
  }
  if (typeof value === 'string') {
    // PostgreSQL text and jsonb cannot hold NUL.
    if (!value.includes('\u0000')) return;
    throw new VectorStoreError(`${where}: strings must not contain NUL`);
  }
  throw new VectorStoreError(`${where}: values must be a string, a finite number, a boolean or null`);
}

function assertPayloadKey(key: string, where: string): void {
  if (key.length === 0 || key.length > MAX_PAYLOAD_KEY_LENGTH || key.includes('\u0000')) {
    throw new VectorStoreError(
      `${where}: invalid payload key ${JSON.stringify(key)} (expected 1 to ${MAX_PAYLOAD_KEY_LENGTH} characters without NUL)`,
    );
  }
}

export function assertPayload(payload: Payload, where: string): void {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new VectorStoreError(`${where}: the payload must be an object`);
  }
  for (const [key, value] of Object.entries(payload)) {
    assertPayloadKey(key, where);
    assertPayloadValue(value, `${where}, payload key "${key}"`);
  }
}

/**
 * Validates every point before anything is written (an upsert is refused whole) and keeps the last
 * point per id, so each backend sees each id once.
 */
export function latestPointPerId(points: VectorPoint[], dimensions: number): VectorPoint[] {
  if (!Array.isArray(points)) throw new VectorStoreError('Points must be an array');
  const byId = new Map<string, VectorPoint>();
  for (const point of points) {
    assertId(point.id);
    const where = `Point ${JSON.stringify(point.id)}`;
    assertVector(point.vector, dimensions, where);
    assertPayload(point.payload, where);
    // Re-inserting moves the id to the end, so the batch keeps the order of last occurrences.
    byId.delete(point.id);
    byId.set(point.id, point);
  }
  return [...byId.values()];
}

export function uniqueIds(ids: string[]): string[] {
  if (!Array.isArray(ids)) throw new VectorStoreError('Ids must be an array');
  for (const id of ids) assertId(id);
  return [...new Set(ids)];
}

/** Returns the filter's entries (empty when there is none). */
export function assertQuery(query: SearchQuery, dimensions: number): [string, PayloadValue][] {
  if (!Number.isInteger(query.k) || query.k < 1) {
    throw new VectorStoreError(`Invalid k ${String(query.k)}: expected a positive integer`);
  }
  assertVector(query.vector, dimensions, 'Query');
  if (query.filter === undefined) return [];
  assertPayload(query.filter, 'Filter');
  return Object.entries(query.filter);
}

export function matchesFilter(payload: Payload, filter: [string, PayloadValue][]): boolean {
  return filter.every(([key, value]) => Object.hasOwn(payload, key) && payload[key] === value);
}
