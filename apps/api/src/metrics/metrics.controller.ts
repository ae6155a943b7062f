import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { EmbedQueues } from '@tributary/queue';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint (text exposition format). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly queues: EmbedQueues,
  ) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    await this.queues.recordDepth(this.metrics);
    await reply.header('content-type', this.metrics.contentType).send(await this.metrics.render());
  }
}
