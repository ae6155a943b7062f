import { createHash } from 'node:crypto';
import type { Redis } from '@tributary/redis';

/**
 * Token bucket in one atomic script, on Redis's own clock so every API replica agrees.
 * KEYS[1] bucket, KEYS[2] (optional) a marker that refuses the request without charging when it
 * exists (a revoked key's): one round trip answers both. ARGV rate (tokens/s), burst (capacity), cost.
 * Returns { allowed (1|0|-1 when the marker exists), retry-after ms, tokens left (string) }.
 */
const SCRIPT = `
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return { -1, 0, '0' }
end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(math.max(now, ts)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, retry, tostring(tokens) }
`;

export interface BucketLimits {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Capacity of the bucket. */
  burst: number;
}

const SCRIPT_SHA = createHash('sha1').update(SCRIPT).digest('hex');

export interface TakeResult {
  allowed: boolean;
  /** The marker key existed: nothing was charged. */
  refused: boolean;
  /** When refused: milliseconds until enough tokens have refilled. */
  retryAfterMs: number;
  /** Tokens left after this take (fractional). */
  remaining: number;
}

/**
 * Takes `cost` tokens from a bucket, or says how long to wait; with `refuseIf`, refuses without
 * charging when that key exists. Sends the script by its sha1 (EVALSHA) and the text only when
 * Redis does not know it yet.
 */
export async function takeTokens(
  redis: Redis,
  key: string,
  limits: BucketLimits,
  options: { cost?: number; refuseIf?: string } = {},
): Promise<TakeResult> {
  const keys = options.refuseIf ? [key, options.refuseIf] : [key];
  const args = [limits.ratePerSecond, limits.burst, options.cost ?? 1];
  let reply: unknown;
  try {
    reply = await redis.evalsha(SCRIPT_SHA, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
    reply = await redis.eval(SCRIPT, keys.length, ...keys, ...args);
  }
  const [allowed, retry, remaining] = reply as [number, number, string];
  return {
    allowed: allowed === 1,
    refused: allowed === -1,
    retryAfterMs: retry,
    remaining: Number(remaining),
  };
}
