import { MAX_ITEMS_PER_REQUEST } from '@tributary/contracts';
import { z } from 'zod';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: 'expected a whole number' })
    .int('expected a whole number')
    .min(min, `expected at least ${min}`)
    .max(max, `expected at most ${max}`);

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const emptyAsUndefined = (v: unknown) => (v === '' ? undefined : v);

/** `<id>:<base64 of 32 bytes>`: an AES-256 key and the id stored with every ciphertext it makes. */
export const SECRETS_KEY_FORMAT = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/]{43}=)$/;
const secretsKeyProblem = (value: string): string | undefined =>
  SECRETS_KEY_FORMAT.test(value.trim())
    ? undefined
    : 'expected <id>:<base64 of 32 bytes>, id of 1–32 letters, digits, "_" or "-" (e.g. `k1:$(openssl rand -base64 32)`)';

/**
 * Every environment variable Tributary reads, with its default. This is the only place that
 * knows about `process.env`; `.env.example` documents the same names (a unit test keeps them in step).
 */
export const configSchema = z.object({
  /** Deployment environment; `production` turns off pretty logs and enables stricter defaults. */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** HTTP port of apps/api. */
  PORT: int(0, 65535).default(3000),
  /** Interface apps/api binds to. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Directory for embedded state: the embedded PostgreSQL's files, Redis AOF, model artifacts, vector indexes. */
  DATA_DIR: z.string().min(1).default('.data'),
  /** PostgreSQL connection string. Unset: the launcher starts an embedded PostgreSQL server (files in DATA_DIR/postgres). */
  DATABASE_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// or postgresql:// URL' }).optional(),
  ),
  /** Loopback port of the launcher's embedded PostgreSQL (when DATABASE_URL is unset); 0 picks a free one at each start. */
  EMBEDDED_POSTGRES_PORT: int(0, 65535).default(0),
  /** Connections per process in the PostgreSQL pool. */
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  /** Redis connection string. Unset: the launcher starts a local redis-server. */
  REDIS_URL: z.preprocess(
    emptyAsUndefined,
    z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional(),
  ),
  /** Prefix for every Redis key and BullMQ queue, so several deployments can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,40}$/, 'letters, digits, "_" or "-", at most 40')
    .default('tributary'),
  /** Admin API key. Unset: one is generated on first boot, stored hashed, and printed once. */
  ADMIN_API_KEY: z.preprocess(emptyAsUndefined, z.string().min(24, 'at least 24 characters').optional()),
  /**
   * Key that encrypts secrets stored in PostgreSQL (webhook secrets) with AES-256-GCM:
   * `<id>:<base64 of 32 bytes>`, e.g. `k1:$(openssl rand -base64 32)`. The id is stored with every
   * ciphertext, so a key can be rotated (see SECRETS_ENCRYPTION_RETIRED_KEYS). Unset: one is
   * generated once and kept in `DATA_DIR/secrets-encryption.key` (mode 600), which is fine for one
   * machine (`npm run up`); refused when NODE_ENV=production, where every API replica and
   * `npm run db:migrate` must share one key.
   */
  SECRETS_ENCRYPTION_KEY: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        const problem = v === undefined ? undefined : secretsKeyProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  ),
  /**
   * Keys retired from SECRETS_ENCRYPTION_KEY, comma-separated, same format: they still decrypt what
   * they encrypted, never encrypt. `npm run db:migrate` re-encrypts every stored secret under the
   * current key; after that a retired key can be removed.
   */
  SECRETS_ENCRYPTION_RETIRED_KEYS: z
    .string()
    .default('')
    .transform((v, ctx): string[] => {
      const keys = v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean);
      for (const key of keys) {
        const problem = secretsKeyProblem(key);
        if (problem) ctx.addIssue({ code: 'custom', message: `${key.split(':')[0]}: ${problem}` });
      }
      return keys;
    }),
  /** pino log level. */
  LOG_LEVEL: z.enum(logLevels).default('info'),
  /**
   * Largest accepted JSON request body, in bytes, on every route but item ingest (`/items` and
   * webhooks), whose limit follows from INGEST_ITEM_MAX_BYTES (see {@link ingestBodyLimitBytes}).
   */
  BODY_LIMIT_BYTES: int(1024, 256 * 1024 * 1024).default(1024 * 1024),
  /**
   * Largest item, in bytes of its JSON (an element of `items`, an NDJSON line, a webhook's item). The
   * body limit of `/items` and webhooks is derived from it, so a request of the documented 1,000 items
   * of this size always fits.
   */
  INGEST_ITEM_MAX_BYTES: int(256, 16 * 1024 * 1024).default(64 * 1024),
  /**
   * How long a request body may pause (no bytes arriving while the server waits for them) before the
   * request is answered 408 and closed; an NDJSON upload's answer says what it accepted so far.
   */
  UPLOAD_IDLE_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  /**
   * How long a request body may take to arrive, from the request's start; then 408 as above. Bounds a
   * client that trickles bytes without ever pausing long (NDJSON: at least NDJSON_MAX_BYTES over this
   * time must be sent for a body of that size).
   */
  UPLOAD_TIMEOUT_MS: int(1000, 86_400_000).default(900_000),
  /**
   * Failed authentications (a wrong tenant or admin key, a bad webhook signature) one client address
   * may make per AUTH_FAILURE_WINDOW_SECONDS; then it is answered 429 until the window ends, without
   * a database lookup. Keys recently verified (cached) keep working from that address.
   */
  AUTH_FAILURES_PER_ADDRESS: int(1, 1_000_000).default(30),
  AUTH_FAILURE_WINDOW_SECONDS: int(1, 86_400).default(60),
  /** How long a key hash found in no live key is remembered, so repeating it costs no database lookup. */
  AUTH_UNKNOWN_KEY_CACHE_SECONDS: int(1, 86_400).default(60),
  /**
   * Whose address a request is from, for the failed-authentication limit (Fastify's `trustProxy`).
   * `false` (default): the TCP peer; `X-Forwarded-For` is ignored, since anyone can send it. Behind
   * a reverse proxy or load balancer: `true` (trust every hop), a hop count such as `1`, or the
   * proxies' addresses/CIDRs, comma-separated (`10.0.0.0/8,127.0.0.1`).
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v, ctx): boolean | number | string => {
      const value = v.trim();
      if (['false', '0', 'no', ''].includes(value)) return false;
      if (['true', 'yes'].includes(value)) return true;
      if (/^[1-9][0-9]{0,2}$/.test(value)) return Number(value);
      if (value.split(',').every((part) => /^[0-9a-fA-F:.]+(\/[0-9]{1,3})?$/.test(part.trim()))) return value;
      ctx.addIssue({
        code: 'custom',
        message: 'expected true, false, a hop count, or comma-separated addresses/CIDRs',
      });
      return z.NEVER;
    }),
  /** Default per-tenant request rate (requests per second) for new tenants. */
  DEFAULT_RATE_LIMIT_PER_SECOND: int(1, 1_000_000).default(50),
  /** Default per-tenant burst (token bucket capacity) for new tenants. */
  DEFAULT_RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  /** After SIGTERM, how long readiness reports false before the server stops accepting requests. */
  SHUTDOWN_GRACE_MS: int(0, 120_000).default(0),
  /** Port of the worker's Prometheus endpoint (GET /metrics); unset: none. The API's is set by API_METRICS_*. */
  METRICS_PORT: z.preprocess(emptyAsUndefined, int(0, 65535).optional()),
  /** Queues this worker process serves: `all` or a comma-separated list of queue names. */
  WORKER_QUEUES: z.string().min(1).default('all'),
  /** Jobs processed concurrently per queue in one worker process. */
  WORKER_CONCURRENCY: int(1, 1000).default(4),
  /** How often API key last-used times are flushed from Redis to PostgreSQL. */
  KEY_USAGE_FLUSH_EVERY_MS: int(1000, 3_600_000).default(30_000),
  /** How often accepted items whose queue job was lost (a Redis failover, an AOF fsync window) are looked for. */
  ORPHAN_SWEEP_EVERY_MS: int(1000, 3_600_000).default(60_000),
  /**
   * How often the scheduler runs `RolloutSweep`: previous versions past their retention retired,
   * backfills whose job was lost put on their queue again.
   */
  ROLLOUT_SWEEP_EVERY_MS: int(1000, 86_400_000).default(60_000),
  /**
   * How long a promotion keeps the previous version live (dual-written, indexed) so that a
   * rollback is instant; then it is retired and its index removed.
   */
  ROLLOUT_RETAIN_PREVIOUS_HOURS: z.coerce
    .number()
    .min(0)
    .max(24 * 365)
    .default(168),
  /** Stored inputs used as queries when a rollout's two versions are compared. */
  ROLLOUT_COMPARE_SAMPLE: int(10, 10_000).default(200),
  /** How often a rollout's comparison is computed again while it is ready, canary or shadow. */
  ROLLOUT_COMPARE_EVERY_MS: int(1000, 86_400_000).default(300_000),
  /**
   * How often the scheduler fans out a drift report per collection (`DriftReportQueueAll` → one
   * `DriftReport` each): the window of this length that just ended (aligned to multiples of it in
   * event time) against the one before it, or the collection's pinned baseline.
   */
  DRIFT_REPORT_EVERY_MS: int(60_000, 30 * 86_400_000).default(86_400_000),
  /** Items sampled per window (seeded) at most for a drift report. */
  DRIFT_SAMPLE_SIZE: int(10, 10_000).default(2_000),
  /** A window with fewer items gets no verdict: the report says so instead of guessing. */
  DRIFT_MIN_ITEMS: int(2, 100_000).default(100),
  /** How often the scheduler fans out a pipeline self-check per collection (`EmbeddingSelfCheckQueueAll`). */
  SELF_CHECK_EVERY_MS: int(1000, 30 * 86_400_000).default(3_600_000),
  /** Stored inputs re-embedded by a self-check. */
  SELF_CHECK_SAMPLE: int(1, 10_000).default(200),
  /**
   * A re-embedded input whose cosine with its stored vector is under this fails the self-check
   * (fp32 versions: the same artifact and tokenizer give the same vector to float rounding).
   */
  SELF_CHECK_MIN_COSINE: z.coerce.number().min(-1).max(1).default(0.999),
  /**
   * The same for quantized (int8) versions: dynamic quantization rounds activations per batch, so an
   * input embedded beside other inputs may differ a little from the same input alone.
   */
  SELF_CHECK_MIN_COSINE_QUANTIZED: z.coerce.number().min(-1).max(1).default(0.99),
  /** How often each collection's emerging-topic tracker reads the items embedded since (`TopicsUpdate`). */
  TRENDS_UPDATE_EVERY_MS: int(1000, 86_400_000).default(10_000),
  /**
   * How late, in event time, an item may arrive and still be counted by the topic tracker: it
   * reads items up to the newest event time seen less this (the watermark), in event-time order.
   */
  TRENDS_LATENESS_MS: int(0, 86_400_000).default(60_000),
  /** The default window of `GET .../trends` (ending at the watermark). */
  TRENDS_WINDOW_MS: int(60_000, 30 * 86_400_000).default(3_600_000),
  /**
   * Label the quality-watch series (drift, self-check, topics) with the collection (`tenant/name`).
   * Off by default: with many tenants the series would be unbounded; the aggregates stay.
   */
  WATCH_METRICS_COLLECTION_LABEL: booleanish.default(false),
  /**
   * How long an accepted item may stay queued before the orphan sweep checks its job in Redis (by
   * its id); an item whose job is gone, or failed for good while the item stayed queued, is
   * enqueued again. A job still waiting or running, however long the backlog, is not a loss.
   */
  ORPHANED_AFTER_MS: int(1000, 86_400_000).default(300_000),
  /** Folder of the model manifests (`<name>/<version>/manifest.json`), relative to the working directory. */
  MODEL_MANIFESTS_DIR: z.string().min(1).default('models'),
  /**
   * Model versions served (comma-separated `name@version`): the API's /v1/embeddings, the embedding
   * queues (one per model) and their workers. Parsed once here into a frozen list, in order; empty
   * entries (`a@1,,b@1`, a trailing comma) are dropped, whitespace is refused.
   */
  MODELS: z
    .string()
    .regex(/^[a-z0-9.@,-]+$/, 'comma-separated name@version ids')
    .default('use-lite@1,use-lite-int8@1')
    .transform((v): readonly string[] => Object.freeze(v.split(',').filter(Boolean))),
  /** The model new tenants get by default. */
  DEFAULT_MODEL: z
    .string()
    .regex(/^[a-z0-9.-]+@[0-9]+$/, 'a name@version id')
    .default('use-lite@1'),
  /**
   * ONNX Runtime sessions (worker threads) per model. Unset: 1 in the API (one request's batch
   * uses every core, for latency), one per core in workers (independent batches, for throughput).
   */
  INFERENCE_SESSIONS: z.preprocess(emptyAsUndefined, int(1, 64).optional()),
  /** ONNX Runtime intra-op threads per session. Unset: the cores this process may use in the API, 1 in workers. */
  INFERENCE_INTRA_OP_THREADS: z.preprocess(emptyAsUndefined, int(1, 256).optional()),
  /** Execution providers in order of preference: `cpu`, or `cuda,cpu` where the CUDA provider is installed. */
  INFERENCE_EXECUTION_PROVIDERS: z
    .string()
    .regex(/^(cpu|cuda|dml|coreml)(,(cpu|cuda|dml|coreml))*$/, 'e.g. cpu or cuda,cpu')
    .default('cpu'),
  /** Largest padded-token count of one inference batch. */
  BATCH_MAX_TOKENS: int(16, 1_000_000).default(8192),
  /** Most rows in one inference batch. */
  BATCH_MAX_SIZE: int(1, 4096).default(64),
  /** How long a request waits for others to share its batch, in milliseconds. */
  BATCH_MAX_WAIT_MS: int(0, 1000).default(2),
  /**
   * Rows waiting for inference per model for one tenant alone; beyond it uncached requests get 429.
   * With n tenants waiting, each may have max(INFERENCE_QUEUE_TENANT_MIN_ROWS, this / n) rows
   * queued, and batches take rows round-robin across tenants, so one tenant's flood cannot push
   * the others to 429.
   */
  INFERENCE_QUEUE_MAX_ROWS: int(1, 1_000_000).default(4096),
  /** The fair share's floor: rows a tenant may always have queued, however many others wait. */
  INFERENCE_QUEUE_TENANT_MIN_ROWS: int(1, 1_000_000).default(256),
  /** Inputs per /v1/embeddings request; more is refused with 413. */
  EMBEDDINGS_MAX_INPUTS: int(1, 100_000).default(2048),
  /**
   * What a /v1/embeddings request costs in rate-limit tokens: one per this many inputs, at least one
   * (so with 32, 1–32 inputs cost 1 and 2,048 cost 64). A tenant's request rate is then a rate of
   * inputs, not of requests that may each carry thousands.
   */
  EMBEDDINGS_INPUTS_PER_TOKEN: int(1, 100_000).default(32),
  /** Characters per input; a longer one is refused with 413. */
  EMBEDDINGS_MAX_INPUT_CHARS: int(1, 10_000_000).default(32_768),
  /** How long a /v1/embeddings request may wait for inference before it is answered 503. */
  EMBEDDINGS_TIMEOUT_MS: int(10, 600_000).default(10_000),
  /** How long cached embeddings live in Redis, in seconds (0 turns the cache off). */
  EMBEDDING_CACHE_TTL_SECONDS: int(0, 31_536_000).default(86_400),
  /**
   * How long stream items' vectors stay in the embedding cache, in seconds. 0: stream items read the
   * cache (vectors /v1/embeddings computed) but do not fill it, because every streamed item in
   * Redis costs ingest rate × lifetime × 2 KB of memory (100 GB a day at 600 items/s). Set it
   * (e.g. 600) when streams repeat texts in bursts.
   */
  STREAM_EMBEDDING_CACHE_TTL_SECONDS: int(0, 31_536_000).default(0),
  /** How cached vectors are stored: float32 (exact) or float16 (half the memory). */
  EMBEDDING_CACHE_FORMAT: z.enum(['float32', 'float16']).default('float32'),
  /**
   * Who shares embedding cache entries. `tenant` (default): each tenant has its own, so a cache hit
   * (or a fast answer) never tells a tenant that another tenant embedded or searched that text.
   * `global`: all tenants share them (more hits, less inference, less Redis memory), but any tenant
   * can learn that someone recently embedded an exact text. Choose `global` only when the tenants
   * trust each other.
   */
  EMBEDDING_CACHE_SCOPE: z.enum(['tenant', 'global']).default('tenant'),
  /** Serve Swagger UI at /docs and the OpenAPI document at /docs-json (`false`: neither, 404). */
  DOCS_ENABLED: booleanish.default(true),
  /** Serve the API's Prometheus metrics (`GET /metrics`) at all; `false`: not anywhere (404). */
  API_METRICS_ENABLED: booleanish.default(true),
  /**
   * Port of the API's `GET /metrics` when it should not share PORT with tenants (a listener of its
   * own on HOST; keep it off the public load balancer). Unset: /metrics on PORT.
   */
  API_METRICS_PORT: z.preprocess(emptyAsUndefined, int(0, 65535).optional()),
  /** Where vectors live: `embedded` (usearch under DATA_DIR/vectors), `pgvector` (DATABASE_URL with the vector extension) or `qdrant` (QDRANT_URL). */
  VECTOR_STORE: z.enum(['embedded', 'pgvector', 'qdrant']).default('embedded'),
  /** Folder of the embedded vector indexes; default DATA_DIR/vectors. */
  VECTOR_DIR: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /** Qdrant's REST address, for VECTOR_STORE=qdrant. */
  QDRANT_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/ }).optional()),
  /** Qdrant API key, if the cluster requires one. */
  QDRANT_API_KEY: z.preprocess(emptyAsUndefined, z.string().min(1).optional()),
  /** How often the embedded vector index is saved to disk when it changed, in milliseconds. */
  INDEX_SAVE_EVERY_MS: int(100, 3_600_000).default(5_000),
  /**
   * How long entries stay in the index log (the Redis stream the workers append the embedded store's
   * writes to), in milliseconds: each append trims entries older than this (XADD MINID ~), so the log
   * holds about this long of writes (about 1 GB per 10 minutes at 50,000 512-d items a minute), plus
   * at most one stream node (100 entries or 4 KB) past it. A consumer that falls further behind
   * notices and rebuilds the collections it missed from PostgreSQL. The threshold comes from the
   * appending process's clock: keep it well above any clock skew with Redis.
   */
  INDEX_LOG_RETENTION_MS: int(10_000, 7 * 86_400_000).default(300_000),
  /**
   * How often the API compares each embedded collection's applied version with PostgreSQL's and
   * rebuilds one that stayed behind (its last log entries lost with nothing after them): the bound,
   * plus the rebuild, on how long such a collection can miss points.
   */
  INDEX_LOG_CHECK_EVERY_MS: int(1000, 86_400_000).default(60_000),
  /** Items one tenant may have accepted and not yet embedded; beyond it ingest answers 429. */
  INGEST_TENANT_MAX_QUEUED: int(1, 100_000_000).default(200_000),
  /** Items per second one tenant may ingest (token bucket refill), and the bucket's capacity. */
  INGEST_TENANT_ITEMS_PER_SECOND: int(1, 10_000_000).default(5_000),
  INGEST_TENANT_ITEMS_BURST: int(1, 10_000_000).default(50_000),
  /**
   * Items accepted and not yet embedded for one model across all tenants (from the stream counters
   * in PostgreSQL, so items, not BullMQ jobs of up to 100); beyond it ingest answers 503.
   */
  INGEST_GLOBAL_MAX_QUEUED: int(1, 1_000_000_000).default(2_000_000),
  /** Largest NDJSON ingest body, in bytes (read incrementally, never held whole). */
  NDJSON_MAX_BYTES: int(1024, 64 * 1024 * 1024 * 1024).default(1024 * 1024 * 1024),
  /**
   * Accepted age of a webhook signature's timestamp, in seconds, either way. Signatures accepted
   * are remembered in Redis for as long, so a replay within the window is refused (409).
   */
  WEBHOOK_TOLERANCE_SECONDS: int(1, 86_400).default(300),
  /**
   * After `POST /v1/streams/{id}/webhook:rotate`, how long the replaced webhook secret stays valid
   * beside the new one when the request names no `overlapSeconds` (senders switch within it).
   */
  WEBHOOK_SECRET_OVERLAP_SECONDS: int(0, 2_592_000).default(86_400),
  /** Embedding jobs (up to 100 items each) one worker process holds at once per model queue; their items are micro-batched together. */
  EMBED_WORKER_CONCURRENCY: int(1, 10_000).default(16),
  /**
   * Micro-batches one worker process works on at once per model: while one is embedded, the ones
   * before it are written to PostgreSQL and indexed, so inference never waits for storage.
   */
  EMBED_WORKER_BATCHES_IN_FLIGHT: int(1, 64).default(4),
  /** How long a worker holds an embedding job before BullMQ hands it to another worker (a killed worker's jobs come back after this). */
  EMBED_WORKER_LOCK_MS: int(500, 600_000).default(30_000),
});

type Schema = z.infer<typeof configSchema>;

/** The parsed, frozen configuration every app receives at boot. */
export type Config = Readonly<Schema>;

/** The names of every configuration variable. */
export const configVariables = Object.keys(configSchema.shape) as (keyof Schema)[];

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}\n` +
        'See .env.example for every variable and its meaning.',
    );
    this.name = 'ConfigError';
  }
}

/**
 * Parses configuration from an environment once, at boot. Throws a {@link ConfigError} naming every
 * bad variable, so a misconfigured process stops before it does anything.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const picked: Record<string, string | undefined> = {};
  // An empty value means unset (as in a copied .env.example), so the default applies.
  for (const name of configVariables) picked[name] = env[name] === '' ? undefined : env[name];
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(root)'),
        message: `${issue.message} (got ${JSON.stringify(picked[String(issue.path[0])])})`,
      })),
    );
  }
  return Object.freeze(parsed.data);
}

/** Thrown where a process needs Redis and REDIS_URL is not set. */
export class RedisNotConfiguredError extends Error {
  constructor() {
    super(
      'REDIS_URL is not set. Start the platform with `npm run up` (it starts a local redis-server and sets it), or set REDIS_URL.',
    );
    this.name = 'RedisNotConfiguredError';
  }
}

/**
 * The Redis URL of a process that needs Redis (every app; the launcher alone may start without it
 * and provide one). The one check of REDIS_URL being set, with the one message.
 */
export function redisUrlOf(config: Pick<Config, 'REDIS_URL'>): string {
  if (!config.REDIS_URL) throw new RedisNotConfiguredError();
  return config.REDIS_URL;
}

/** Room per item for the separators and indentation around it in an `items` array. */
const ITEM_ENVELOPE_BYTES = 1024;

/**
 * The body limit of the item-ingest routes (`POST /v1/streams/{id}/items`, webhooks): room for
 * {@link MAX_ITEMS_PER_REQUEST} items of INGEST_ITEM_MAX_BYTES each, plus 1 KiB per item for what
 * surrounds it. One owner, so the documented item count, the item size and the body limit agree.
 */
export function ingestBodyLimitBytes(config: Pick<Config, 'INGEST_ITEM_MAX_BYTES'>): number {
  return MAX_ITEMS_PER_REQUEST * (config.INGEST_ITEM_MAX_BYTES + ITEM_ENVELOPE_BYTES);
}

/** The queue names a worker should serve, given `WORKER_QUEUES` and the queues that exist. */
export function selectWorkerQueues(config: Config, known: readonly string[]): string[] {
  if (config.WORKER_QUEUES.trim() === 'all') return [...known];
  const wanted = config.WORKER_QUEUES.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const unknown = wanted.filter((q) => !known.includes(q));
  if (unknown.length > 0) {
    throw new ConfigError([
      {
        variable: 'WORKER_QUEUES',
        message: `unknown queue(s) ${unknown.join(', ')}; known: ${known.join(', ')}`,
      },
    ]);
  }
  return wanted;
}
