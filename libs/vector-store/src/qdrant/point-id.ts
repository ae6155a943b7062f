import { createHash } from 'node:crypto';

/** Namespace for Tributary point ids (a random v4 UUID, fixed forever: changing it re-keys every point). */
export const POINT_ID_NAMESPACE = '7d3c2a4e-1f0b-4c55-9a87-5e2f6b1d0c93';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`Not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/** RFC 9562 UUID version 5 (SHA-1, name-based): the same name in the same namespace, the same UUID. */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Qdrant point ids must be unsigned integers or UUIDs; a caller's string id maps to a stable UUID. */
export const qdrantPointId = (id: string): string => uuidV5(id, POINT_ID_NAMESPACE);
