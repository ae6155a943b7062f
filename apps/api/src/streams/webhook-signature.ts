import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tributary-signature';
export const TIMESTAMP_HEADER = 'x-tributary-timestamp';

/** How a webhook request is signed, as documented to tenants. */
export const SIGNATURE_SCHEME =
  'Send `x-tributary-timestamp: <unix seconds>` and `x-tributary-signature: v1=<hex>`, where <hex> is ' +
  'HMAC-SHA256(secret, `<timestamp>.<raw body>`). Requests older or newer than the tolerance (5 minutes) are refused.';

/** A new webhook secret: 32 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The signature a sender computes: `v1=` + hex HMAC-SHA256 over `<timestamp>.<body>`. */
export function signWebhook(secret: string, timestamp: number | string, body: string | Buffer): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `v1=${mac}`;
}

export type SignatureCheck =
  { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };

/**
 * Checks a webhook's signature: the timestamp must be within `toleranceSeconds` of `nowSeconds`
 * (replays of old requests are refused), and the MAC is compared in constant time. A header may
 * carry several `v1=` values (during secret rotation); one match is enough.
 */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string | Buffer,
  nowSeconds: number,
  toleranceSeconds: number,
): SignatureCheck {
  if (!headers.timestamp || !headers.signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(headers.timestamp)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(headers.timestamp);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signWebhook(secret, headers.timestamp, body).slice(3), 'hex');
  const candidates = headers.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3));
  if (candidates.length === 0 || candidates.some((c) => !/^[0-9a-f]{64}$/i.test(c)))
    return { ok: false, reason: 'malformed' };
  let match = false;
  // Compare against every candidate (no early exit) so timing says nothing about which matched.
  for (const candidate of candidates) {
    if (timingSafeEqual(Buffer.from(candidate, 'hex'), expected)) match = true;
  }
  return match ? { ok: true } : { ok: false, reason: 'mismatch' };
}
