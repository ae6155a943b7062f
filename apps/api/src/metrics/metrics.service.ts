import { Injectable } from '@nestjs/common';
import { Metrics } from '@tributary/observability';

/** The API process's metrics. */
@Injectable()
export class MetricsService extends Metrics {
  constructor() {
    super('api');
  }
}
