import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX_LENGTH = 12;

/** A new random key: `trb_` (or `trb_admin_`) and 32 bytes of entropy in base64url. */
export function generateSecret(kind: 'tenant' | 'admin'): string {
  return `${kind === 'admin' ? 'trb_admin_' : 'trb_'}${randomBytes(32).toString('base64url')}`;
}

/**
 * The stored form of a key. Keys carry 256 bits of entropy, so one SHA-256 is enough (no slow
 * password hash needed) and lets a key be found by an indexed lookup on its hash.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** What people see of a key: enough to recognise it, useless to an attacker. */
export function secretPrefix(secret: string): string {
  return secret.startsWith('trb_admin_')
    ? secret.slice(0, 'trb_admin_'.length + 6)
    : secret.slice(0, PREFIX_LENGTH);
}

/** Compares two hex hashes in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
