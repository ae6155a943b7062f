import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import type { RolloutComparison } from '@tributary/contracts';
import { RolloutRepository, type CollectionVersionRow } from '@tributary/db';
import { redisKeys } from '@tributary/redis';
import { VectorStoreError, type SearchHit } from '@tributary/vector-store';
import { EngineService } from '../embeddings/engine.service';
import { VectorStoreService } from '../collections/vector-store.service';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { mean, overlapAt, percentile, sharedRankCorrelation } from './comparison';
import { RolloutsService } from './rollouts.service';

const K = 10;
/** How often the comparator looks for rollouts whose comparison is missing or due. */
const TICK_MS = 2_000;
/** Latencies kept per shadow side. */
const SHADOW_LATENCIES = 1_000;

type Comparable = Awaited<ReturnType<RolloutRepository['comparableAcrossTenants']>>[number];

/**
 * Compares a rollout's two versions once its candidate is complete, and again every
 * ROLLOUT_COMPARE_EVERY_MS while it is ready, canary or shadow: ROLLOUT_COMPARE_SAMPLE stored
 * inputs of the collection, embedded as queries by each version, searched in each version's index
 * (k = 10): mean overlap@10, mean rank correlation of the shared results, each version's search
 * latency p50/p99 and embedding throughput, each index's points; in shadow mode also the same over
 * the real queries recorded by {@link recordShadow}. With `autoRollbackBelowOverlap`, a rollout
 * whose overlap falls below it is rolled back (actor `system:auto-rollback`). One API process at a
 * time computes a rollout (a Redis lock); the embedded store waits until it has applied both
 * versions' writes.
 */
@Injectable()
export class RolloutComparator implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('RolloutComparator');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly rollouts: RolloutRepository,
    private readonly service: RolloutsService,
    private readonly engines: EngineService,
    private readonly vectors: VectorStoreService,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .catch((err: Error) => this.logger.warn(`comparing rollouts: ${err.message}`))
        .finally(() => (this.running = undefined));
    }, TICK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Computes every comparison that is missing or due; what tests and the benchmark call too. */
  async tick(): Promise<void> {
    for (const rollout of await this.rollouts.comparableAcrossTenants()) {
      if (this.stopped) return;
      const computedAt = (rollout.comparison as RolloutComparison)?.computedAt;
      if (computedAt && Date.now() - Date.parse(computedAt) < this.config.ROLLOUT_COMPARE_EVERY_MS) continue;
      if (!this.applied(rollout.fromVersion) || !this.applied(rollout.toVersion)) continue;
      const lock = redisKeys(this.config.REDIS_PREFIX).rolloutCompareLock(rollout.id);
      if ((await this.redis.client.set(lock, '1', 'PX', 60_000, 'NX')) !== 'OK') continue;
      try {
        await this.compare(rollout);
      } finally {
        await this.redis.client.del(lock);
      }
    }
  }

  private applied(version: CollectionVersionRow): boolean {
    return this.vectors.searchableAt(version.storeKey, version.version);
  }

  private async compare(rollout: Comparable): Promise<void> {
    const sample = await this.rollouts.sampleInputs(rollout, this.config.ROLLOUT_COMPARE_SAMPLE);
    const texts = sample.map((s) => s.text);
    const from = await this.searchAll(rollout.fromVersion, texts);
    const to = await this.searchAll(rollout.toVersion, texts);
    const overlaps = from.answers.map((a, i) => overlapAt(K, a, to.answers[i]!));
    const ranks = from.answers.map((a, i) =>
      sharedRankCorrelation(a.slice(0, K), to.answers[i]!.slice(0, K)),
    );
    const store = this.vectors.store;
    const comparison: NonNullable<RolloutComparison> = {
      computedAt: new Date().toISOString(),
      sample: sample.length,
      k: K,
      overlapAt10: round(mean(overlaps) ?? 1),
      rankCorrelation: round(mean(ranks) ?? 1),
      searchLatencyMs: { from: latency(from.latenciesMs), to: latency(to.latenciesMs) },
      embeddingsPerSecond: {
        from: Math.round(from.embeddingsPerSecond),
        to: Math.round(to.embeddingsPerSecond),
      },
      points: {
        from: (await store.info(rollout.fromVersion.storeKey))?.count ?? 0,
        to: (await store.info(rollout.toVersion.storeKey))?.count ?? 0,
      },
      ...(rollout.state === 'shadow' ? { shadow: await this.shadowSummary(rollout.id) } : {}),
    };
    await this.rollouts.recordComparison(rollout.id, comparison);
    this.metrics.rolloutOverlap.set(
      { from: rollout.fromModel, to: rollout.toModel, source: 'sample' },
      comparison.overlapAt10,
    );
    if (comparison.shadow?.overlapAt10 != null) {
      this.metrics.rolloutOverlap.set(
        { from: rollout.fromModel, to: rollout.toModel, source: 'shadow' },
        comparison.shadow.overlapAt10,
      );
    }
    this.logger.log(
      {
        rolloutId: rollout.id,
        overlapAt10: comparison.overlapAt10,
        rankCorrelation: comparison.rankCorrelation,
      },
      `rollout ${rollout.id} compared on ${sample.length} stored inputs`,
    );
    const guard = rollout.autoRollbackBelowOverlap;
    const observed = comparison.shadow?.overlapAt10 ?? comparison.overlapAt10;
    if (guard !== null && sample.length > 0 && observed < guard) {
      await this.service.rollback(
        rollout.tenantId,
        rollout.collection.name,
        rollout.id,
        'system:auto-rollback',
        `overlap@10 ${observed} is below autoRollbackBelowOverlap ${guard}`,
      );
    }
  }

  /** Each text embedded as a query by the version's model (timed, no cache) and searched in its index. */
  private async searchAll(version: CollectionVersionRow, texts: string[]) {
    const engine = this.engines.engine;
    const started = process.hrtime.bigint();
    const { rows } = engine.tokenize(version.model, texts, 'query');
    const vectors =
      texts.length === 0 ? [] : await engine.embedRows(version.model, rows, Date.now() + 120_000);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const answers: string[][] = [];
    const latenciesMs: number[] = [];
    for (const vector of vectors) {
      const t = process.hrtime.bigint();
      const hits = await this.search(version.storeKey, vector);
      latenciesMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      answers.push(hits.map((h) => h.id));
    }
    return { answers, latenciesMs, embeddingsPerSecond: seconds > 0 ? texts.length / seconds : 0 };
  }

  private async search(storeKey: string, vector: Float32Array): Promise<SearchHit[]> {
    try {
      return await this.vectors.store.search(storeKey, { vector, k: K });
    } catch (err) {
      // An index that holds nothing yet answers nothing; anything else is worth a line.
      if (!(err instanceof VectorStoreError && err.code === 'unknown_collection'))
        this.logger.warn(`comparison search in ${storeKey} failed: ${(err as Error).message}`);
      return [];
    }
  }

  /**
   * Records one shadow search: the answers of both versions to a real query and their latencies
   * (a few Redis commands, pipelined; a failure is dropped, the caller's search is not affected).
   */
  async recordShadow(
    rolloutId: string,
    serving: { ids: string[]; ms: number },
    candidate: { ids: string[]; ms: number },
  ): Promise<void> {
    const keys = redisKeys(this.config.REDIS_PREFIX);
    const rank = sharedRankCorrelation(serving.ids.slice(0, K), candidate.ids.slice(0, K));
    const pipeline = this.redis.client
      .multi()
      .hincrby(keys.rolloutShadow(rolloutId), 'queries', 1)
      .hincrbyfloat(keys.rolloutShadow(rolloutId), 'overlap', overlapAt(K, serving.ids, candidate.ids));
    if (rank !== null) {
      pipeline
        .hincrbyfloat(keys.rolloutShadow(rolloutId), 'rank', rank)
        .hincrby(keys.rolloutShadow(rolloutId), 'ranked', 1);
    }
    pipeline
      .lpush(keys.rolloutShadowLatency(rolloutId, 'from'), serving.ms.toFixed(3))
      .ltrim(keys.rolloutShadowLatency(rolloutId, 'from'), 0, SHADOW_LATENCIES - 1)
      .lpush(keys.rolloutShadowLatency(rolloutId, 'to'), candidate.ms.toFixed(3))
      .ltrim(keys.rolloutShadowLatency(rolloutId, 'to'), 0, SHADOW_LATENCIES - 1);
    for (const key of [
      keys.rolloutShadow(rolloutId),
      keys.rolloutShadowLatency(rolloutId, 'from'),
      keys.rolloutShadowLatency(rolloutId, 'to'),
    ])
      pipeline.pexpire(key, 30 * 24 * 3_600_000);
    await pipeline.exec();
  }

  private async shadowSummary(rolloutId: string): Promise<NonNullable<RolloutComparison>['shadow']> {
    const keys = redisKeys(this.config.REDIS_PREFIX);
    const [sums, fromMs, toMs] = await Promise.all([
      this.redis.client.hgetall(keys.rolloutShadow(rolloutId)),
      this.redis.client.lrange(keys.rolloutShadowLatency(rolloutId, 'from'), 0, -1),
      this.redis.client.lrange(keys.rolloutShadowLatency(rolloutId, 'to'), 0, -1),
    ]);
    const queries = Number(sums['queries'] ?? 0);
    const ranked = Number(sums['ranked'] ?? 0);
    return {
      queries,
      overlapAt10: queries > 0 ? round(Number(sums['overlap']) / queries) : null,
      rankCorrelation: ranked > 0 ? round(Number(sums['rank']) / ranked) : null,
      searchLatencyMs: {
        from: fromMs.length > 0 ? latency(fromMs.map(Number)) : null,
        to: toMs.length > 0 ? latency(toMs.map(Number)) : null,
      },
    };
  }
}

function latency(ms: number[]) {
  return { p50: round(percentile(ms, 50)), p99: round(percentile(ms, 99)) };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
