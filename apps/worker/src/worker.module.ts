import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, redisUrlOf, type Config } from '@tributary/config';
import { DbModule } from '@tributary/db';
import { loggerOptions, Metrics } from '@tributary/observability';
import { createRedis } from '@tributary/redis';
import { JOB_HANDLERS, QueueModule } from '@tributary/queue';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { ApiKeyUsageFlushHandler } from './maintenance/api-key-usage-flush.handler';
import { OrphanedItemsRequeueHandler } from './maintenance/orphaned-items-requeue.handler';
import { ItemEmbedHandler } from './embedding/item-embed.handler';
import { WorkerEngine } from './embedding/worker-engine';
import { KindStage } from '@tributary/kind-stage';
import { RolloutBackfillHandler } from './rollouts/rollout-backfill.handler';
import { RolloutSweepHandler } from './rollouts/rollout-sweep.handler';
import { ModelHeartbeat } from './heartbeat/model-heartbeat.service';
import { WorkerHost } from './worker-host.service';
import { WORKER_REDIS } from './worker-redis';
import { DriftReportHandler, DriftReportQueueAllHandler } from './watch/drift-report.handler';
import { EmbeddingSelfCheckHandler, EmbeddingSelfCheckQueueAllHandler } from './watch/self-check.handler';
import { TopicsUpdateHandler, TopicsUpdateQueueAllHandler } from './watch/topics-update.handler';

/** Every job's handler: the one registry WorkerHost dispatches through. */
const handlers = [
  ItemEmbedHandler,
  RolloutBackfillHandler,
  ApiKeyUsageFlushHandler,
  OrphanedItemsRequeueHandler,
  RolloutSweepHandler,
  DriftReportQueueAllHandler,
  DriftReportHandler,
  EmbeddingSelfCheckQueueAllHandler,
  EmbeddingSelfCheckHandler,
  TopicsUpdateQueueAllHandler,
  TopicsUpdateHandler,
];

@Module({})
export class WorkerModule {
  /** `logDestination`: where log lines go (default stdout; tests pass a stream to read them). */
  static register(config: Config, logDestination?: DestinationStream): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: logDestination
            ? [loggerOptions(config, 'worker'), logDestination]
            : loggerOptions(config, 'worker'),
        }),
        DbModule,
        // The orphan sweep's and the backfill's producers.
        QueueModule.forRoot({ clientName: 'worker:producer' }),
      ],
      providers: [
        { provide: Metrics, useFactory: () => new Metrics('worker') },
        {
          provide: WORKER_REDIS,
          useFactory: () => createRedis(redisUrlOf(config), 'worker', 'worker'),
        },
        WorkerEngine,
        KindStage,
        ModelHeartbeat,
        ...handlers,
        { provide: JOB_HANDLERS, useFactory: (...all: unknown[]) => all, inject: handlers },
        WorkerHost,
      ],
    };
  }
}
