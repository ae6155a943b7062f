import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The metrics of one process. Every capability registers its series here; names follow
 * `tributary_<thing>_<unit>`, and no label carries a tenant id.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'tributary_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly rateLimitRejections = new Counter({
    name: 'tributary_rate_limit_rejections_total',
    help: 'Requests refused because a tenant exceeded its request rate',
    registers: [this.registry],
  });

  readonly rateLimitErrors = new Counter({
    name: 'tributary_rate_limit_errors_total',
    help: 'Rate limit checks that failed (Redis unreachable); such requests are refused with 503',
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'tributary_auth_failures_total',
    help: 'Failed authentications by reason (unknown_key, unknown_key_cached: answered from the negative cache without a database lookup, revoked_key, admin_key, webhook_signature), and requests refused because their address failed too often (address_limited)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly cacheHits = new Counter({
    name: 'tributary_embedding_cache_hits_total',
    help: 'Inputs whose embedding came from the cache',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly cacheMisses = new Counter({
    name: 'tributary_embedding_cache_misses_total',
    help: 'Inputs whose embedding had to be computed',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly jobsProcessed = new Counter({
    name: 'tributary_jobs_processed_total',
    help: 'Background jobs finished, by queue, job name and outcome',
    labelNames: ['queue', 'job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly itemsIngested = new Counter({
    name: 'tributary_items_ingested_total',
    help: 'Stream items received, by channel (rest, ndjson, webhook) and outcome (accepted, duplicate, invalid)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly ingestRejections = new Counter({
    name: 'tributary_ingest_rejections_total',
    help: 'Ingest requests refused by backpressure, by reason (tenant_rate, tenant_queue, global_queue)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: 'tributary_queue_depth',
    help: 'Jobs waiting or delayed in a queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly itemsEmbedded = new Counter({
    name: 'tributary_items_embedded_total',
    help: 'Stream items embedded and indexed, by model',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly itemsRequeued = new Counter({
    name: 'tributary_items_requeued_total',
    help: 'Accepted items enqueued again because their queue job was lost',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly itemFailures = new Counter({
    name: 'tributary_item_failures_total',
    help: 'Stream items that failed for good, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly freshness = new Histogram({
    name: 'tributary_freshness_seconds',
    help: 'From an item accepted by the API to the item searchable',
    labelNames: ['store'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });

  readonly indexUpsertDuration = new Histogram({
    name: 'tributary_index_upsert_duration_seconds',
    help: 'Vector store upserts, per batch',
    labelNames: ['store'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly indexRebuilds = new Counter({
    name: 'tributary_index_rebuilds_total',
    help: 'Embedded collections rebuilt from PostgreSQL while running, by why: version_gap (a log entry missing), apply_failed, behind_source (the periodic or trim check)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly searchDuration = new Histogram({
    name: 'tributary_search_duration_seconds',
    help: 'Vector store searches (after the query is embedded)',
    labelNames: ['store'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly embedBatchSize = new Histogram({
    name: 'tributary_worker_batch_items',
    help: 'Items per worker micro-batch',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });

  /** Backfilled items (stored inputs embedded into a rollout's candidate), by candidate model. */
  readonly backfillItems = new Counter({
    name: 'tributary_rollout_backfill_items_total',
    help: 'Stored inputs embedded into rollout candidates (rate: backfill items/s)',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  /** Items the backfills still have to embed (set at scrape time by the API). */
  readonly backfillRemaining = new Gauge({
    name: 'tributary_rollout_backfill_remaining_items',
    help: 'Stored inputs rollouts still have to backfill, by candidate model',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  /** Rollouts by state (set at scrape time by the API). */
  readonly rollouts = new Gauge({
    name: 'tributary_rollouts',
    help: 'Rollouts by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  /** Searches by the model version that answered (and whether a canary routed them). */
  readonly searchesByVersion = new Counter({
    name: 'tributary_searches_total',
    help: 'Searches by the model version that answered; route: serving, canary or shadow (the extra candidate search)',
    labelNames: ['model', 'route'] as const,
    registers: [this.registry],
  });

  /** Comparison figures of rollouts whose candidate is complete (set when computed). */
  readonly rolloutOverlap = new Gauge({
    name: 'tributary_rollout_overlap_at_10',
    help: 'Mean overlap@10 between the serving version and the candidate, by model pair (latest comparison)',
    labelNames: ['from', 'to', 'source'] as const,
    registers: [this.registry],
  });

  /**
   * Drift reports finished, by method and verdict (`drifted`, `not_drifted`; `insufficient` when a
   * window had too few items, method `all`). `collection` is `tenant/name` only with
   * WATCH_METRICS_COLLECTION_LABEL, else empty (bounded).
   */
  readonly driftReports = new Counter({
    name: 'tributary_drift_reports_total',
    help: 'Drift reports finished, by method and verdict (drifted, not_drifted, insufficient)',
    labelNames: ['method', 'verdict', 'collection'] as const,
    registers: [this.registry],
  });

  /** Each finished report's value per method (aggregated over collections). */
  readonly driftValue = new Histogram({
    name: 'tributary_drift_value',
    help: 'Drift statistic per method of each finished report (model: ROC AUC; ratio: drifted share; distance; mmd: MMD²)',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.015, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1],
    registers: [this.registry],
  });

  /** The latest report's value per method and collection (only with WATCH_METRICS_COLLECTION_LABEL). */
  readonly driftLatest = new Gauge({
    name: 'tributary_drift_latest_value',
    help: 'Latest drift statistic per method and collection (only with WATCH_METRICS_COLLECTION_LABEL)',
    labelNames: ['method', 'collection'] as const,
    registers: [this.registry],
  });

  /** Pipeline self-checks by result (`passed`, `failed`). */
  readonly selfChecks = new Counter({
    name: 'tributary_self_checks_total',
    help: 'Pipeline self-checks (stored inputs re-embedded and compared with their stored vectors) by result',
    labelNames: ['model', 'result', 'collection'] as const,
    registers: [this.registry],
  });

  /** Each self-check's lowest cosine between a re-embedded input and its stored vector. */
  readonly selfCheckMinCosine = new Histogram({
    name: 'tributary_self_check_min_cosine',
    help: 'Lowest cosine between a re-embedded stored input and its stored vector, per self-check',
    labelNames: ['model'] as const,
    buckets: [0, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 1],
    registers: [this.registry],
  });

  /** Items fed to the emerging-topic trackers. */
  readonly trendItems = new Counter({
    name: 'tributary_trend_items_total',
    help: 'Items the emerging-topic trackers have read (late: arrived behind the watermark, not counted)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Topics emerging in the latest window, by collection when labelled (else the sum this process saw). */
  readonly topicsEmerging = new Gauge({
    name: 'tributary_topics_emerging',
    help: 'Topics emerging in the latest window of each collection the tracker updated',
    labelNames: ['collection'] as const,
    registers: [this.registry],
  });

  /** Items through the stream kinds' stage, by kind (`text` is the identity). */
  readonly kindItems = new Counter({
    name: 'tributary_kind_items_total',
    help: 'Items whose vectors went through the stream kinds stage, by stream kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Derived state updates (a conversation's contexts, a document's vector), by kind. */
  readonly kindStateUpdates = new Counter({
    name: 'tributary_kind_state_updates_total',
    help: 'Derived vectors written by the stream kinds stage (context vectors, document vectors), by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** How long one group's state update took (read, compute, write, publish), by kind. */
  readonly kindUpdateDuration = new Histogram({
    name: 'tributary_kind_update_duration_seconds',
    help: 'Time to update one group of a stream kind (a conversation, a document): read, compute, write and publish',
    labelNames: ['kind'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  constructor(app: string) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry, prefix: 'tributary_process_' });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
