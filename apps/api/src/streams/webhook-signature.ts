import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tributary-signature';
export const TIMESTAMP_HEADER = 'x-tributary-timestamp';

/** A whole number of seconds in words, in the largest unit that divides it: 300 → `5 minutes`. */
export function secondsInWords(seconds: number): string {
  const units = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ] as const;
  const [unit, size] = units.find(([, size]) => seconds % size === 0) ?? ['second', 1];
  const count = seconds / size;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * How a webhook request is signed, as documented to tenants (the OpenAPI document, the 401's
 * message, a new or rotated secret's answer), with the tolerance this deployment applies
 * (WEBHOOK_TOLERANCE_SECONDS).
 */
export function signatureScheme(toleranceSeconds: number): string {
  return (
    'Send `x-tributary-timestamp: <unix seconds>` and `x-tributary-signature: v1=<hex>`, where <hex> is ' +
    `HMAC-SHA256(secret, \`<timestamp>.<raw body>\`). Requests older or newer than the tolerance (${secondsInWords(toleranceSeconds)}) are refused, ` +
    'and so is a signature already accepted (a replay: sign each delivery with its own timestamp). During a secret ' +
    'rotation both secrets are accepted until the overlap ends.'
  );
}

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
 * (replays of old requests are refused; replays within the window are the caller's to remember),
 * and the MAC is compared in constant time. During a rotation the stream has two valid secrets and
 * a header may carry several `v1=` values; one match of any secret is enough.
 */
export function verifyWebhook(
  secrets: string | readonly string[],
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string | Buffer,
  nowSeconds: number,
  toleranceSeconds: number,
): SignatureCheck {
  const stamp = headers.timestamp;
  if (!stamp || !headers.signature) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(stamp)) return { ok: false, reason: 'malformed' };
  const timestamp = Number(stamp);
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = (typeof secrets === 'string' ? [secrets] : secrets).map((secret) =>
    Buffer.from(signWebhook(secret, stamp, body).slice(3), 'hex'),
  );
  const candidates = headers.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3));
  if (candidates.length === 0 || candidates.some((c) => !/^[0-9a-f]{64}$/i.test(c)))
    return { ok: false, reason: 'malformed' };
  let match = false;
  // Compare every candidate with every secret (no early exit) so timing says nothing about which matched.
  for (const candidate of candidates) {
    const given = Buffer.from(candidate, 'hex');
    for (const mac of expected) if (timingSafeEqual(given, mac)) match = true;
  }
  return match ? { ok: true } : { ok: false, reason: 'mismatch' };
}
