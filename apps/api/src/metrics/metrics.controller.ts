import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MetricsScrapeService } from './metrics-scrape.service';

/** Prometheus scrape endpoint (text exposition format). */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsScrapeService) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const { contentType, text } = await this.metrics.scrape();
    await reply.header('content-type', contentType).send(text);
  }
}
