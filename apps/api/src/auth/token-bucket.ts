import type { Redis } from '@tributary/queue';

/**
 * Token bucket in one atomic script, on Redis's own clock so every API replica agrees.
 * KEYS[1] bucket; ARGV rate (tokens/s), burst (capacity), cost.
 * Returns { allowed (1|0), retry-after ms, tokens left (string) }.
 */
const SCRIPT = `
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

export interface TakeResult {
  allowed: boolean;
  /** When refused: milliseconds until enough tokens have refilled. */
  retryAfterMs: number;
  /** Tokens left after this take (fractional). */
  remaining: number;
}

/** Takes `cost` tokens from a bucket, or says how long to wait. */
export async function takeTokens(
  redis: Redis,
  key: string,
  limits: BucketLimits,
  cost = 1,
): Promise<TakeResult> {
  const [allowed, retry, remaining] = (await redis.eval(
    SCRIPT,
    1,
    key,
    limits.ratePerSecond,
    limits.burst,
    cost,
  )) as [number, number, string];
  return { allowed: allowed === 1, retryAfterMs: retry, remaining: Number(remaining) };
}
