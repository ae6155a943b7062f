import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

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
    help: 'Rate limit checks that failed (Redis unreachable); such requests are let through',
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
