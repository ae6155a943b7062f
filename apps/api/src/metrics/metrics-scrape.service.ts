import { Injectable } from '@nestjs/common';
import { rolloutStates } from '@tributary/contracts';
import { RolloutRepository } from '@tributary/db';
import { EmbedQueues } from '@tributary/queue';
import { MetricsService } from './metrics.service';

/** One Prometheus scrape in the text exposition format. */
export interface Scrape {
  contentType: string;
  text: string;
}

/** What `GET /metrics` answers: the queue depths read at scrape time, then every metric rendered. */
@Injectable()
export class MetricsScrapeService {
  constructor(
    private readonly metrics: MetricsService,
    private readonly queues: EmbedQueues,
    private readonly rollouts: RolloutRepository,
  ) {}

  async scrape(): Promise<Scrape> {
    await Promise.all([this.queues.recordDepth(this.metrics), this.recordRollouts()]);
    return { contentType: this.metrics.contentType, text: await this.metrics.render() };
  }

  /** Rollouts by state and backfills' remaining items, read at scrape time (a failure keeps the last values). */
  private async recordRollouts(): Promise<void> {
    try {
      const { byState, remaining } = await this.rollouts.gauges();
      for (const state of rolloutStates) this.metrics.rollouts.set({ state }, byState[state] ?? 0);
      this.metrics.backfillRemaining.reset();
      for (const [model, n] of Object.entries(remaining)) this.metrics.backfillRemaining.set({ model }, n);
    } catch {
      // PostgreSQL away: readiness reports it.
    }
  }
}
