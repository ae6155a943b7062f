import { Injectable } from '@nestjs/common';
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
  ) {}

  async scrape(): Promise<Scrape> {
    await this.queues.recordDepth(this.metrics);
    return { contentType: this.metrics.contentType, text: await this.metrics.render() };
  }
}
