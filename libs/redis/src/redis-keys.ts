/**
 * Every Redis key Tributary writes outside BullMQ, in one place. All start with `REDIS_PREFIX`, so
 * deployments (and test runs) sharing one Redis never collide.
 */
export function redisKeys(prefix: string) {
  return {
    /** Token bucket of one tenant's request rate limit. */
    rateLimit: (tenantId: string) => `${prefix}:rl:${tenantId}`,
    /** Cached tenant and key of an API key, by the key's hash (short TTL). */
    authPrincipal: (keyHash: string) => `${prefix}:auth:${keyHash}`,
    /** Marks a revoked key, so a cache entry written in a race with the revocation is ignored. */
    authRevoked: (keyHash: string) => `${prefix}:auth-revoked:${keyHash}`,
    /** Marks a key hash found in no live key (the negative cache), so a repeated bad key skips PostgreSQL. */
    authUnknown: (keyHash: string) => `${prefix}:auth-unknown:${keyHash}`,
    /** Failed authentications of one client address in the current window. */
    authFailures: (address: string) => `${prefix}:auth-fail:${address}`,
    /** Exists (holding the epoch ms it ends) while a client address is refused for failing too often. */
    authBlocked: (address: string) => `${prefix}:auth-blocked:${address}`,
    /**
     * Exists while a webhook signature accepted for a stream may still be replayed (its timestamp
     * is within the tolerance): by the stream and the sha256 of `<timestamp>.<raw body>`.
     */
    webhookSeen: (streamId: string, digest: string) => `${prefix}:hook-seen:${streamId}:${digest}`,
    /** Hash of API key id → last-used epoch ms, flushed to PostgreSQL by `ApiKeyUsageFlush`. */
    keyUsage: `${prefix}:key-usage`,
    /** Token bucket of one tenant's ingest rate, in items. */
    ingestRate: (tenantId: string) => `${prefix}:ingest-rl:${tenantId}`,
    /** Items of one tenant accepted and not yet embedded or failed (the per-tenant queue bound). */
    tenantInFlight: (tenantId: string) => `${prefix}:inflight:${tenantId}`,
    /** Sums of a shadow rollout's comparisons over real queries (queries, overlap, rank correlation). */
    rolloutShadow: (rolloutId: string) => `${prefix}:rollout-shadow:${rolloutId}`,
    /** The last search latencies (ms) of a shadow rollout's serving version or candidate (`from`, `to`). */
    rolloutShadowLatency: (rolloutId: string, side: 'from' | 'to') =>
      `${prefix}:rollout-shadow-ms:${rolloutId}:${side}`,
    /** Held while one API process computes a rollout's comparison. */
    rolloutCompareLock: (rolloutId: string) => `${prefix}:rollout-compare:${rolloutId}`,
    /** Index operations for the embedded vector store, appended by workers, applied by the API. */
    indexLog: `${prefix}:index-log`,
    /**
     * Which model versions each live worker process has loaded: a hash of process id →
     * {@link LoadedModelsBeat} as JSON, rewritten by each worker every few seconds. One hash rather
     * than a key per process, so readers never SCAN the keyspace (the embedding cache makes it
     * large); an entry past its `expiresAt` is a process that died without saying so, and is
     * ignored by readers and removed by the next writer. The hash itself expires with its last writer.
     */
    modelsLoaded: `${prefix}:models-loaded`,
  } as const;
}

/** One process's entry in {@link redisKeys}' `modelsLoaded` hash. */
export interface LoadedModelsBeat {
  /** The app that wrote it (`worker`). */
  app: string;
  /** Model version ids the process has loaded and serves. */
  models: string[];
  /** Epoch ms after which the entry no longer counts (the process stopped refreshing it). */
  expiresAt: number;
}

/** A `modelsLoaded` entry that still counts at `now`, or null (expired, or not one of ours). */
export function liveLoadedModelsBeat(value: string, now: number): LoadedModelsBeat | null {
  let entry: Partial<LoadedModelsBeat>;
  try {
    entry = JSON.parse(value) as Partial<LoadedModelsBeat>;
  } catch {
    return null;
  }
  if (typeof entry.app !== 'string' || !Array.isArray(entry.models)) return null;
  if (typeof entry.expiresAt !== 'number' || entry.expiresAt <= now) return null;
  return {
    app: entry.app,
    models: entry.models.filter((m) => typeof m === 'string'),
    expiresAt: entry.expiresAt,
  };
}
