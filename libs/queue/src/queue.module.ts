import { DynamicModule, Module } from '@nestjs/common';
import { EmbedQueues, QUEUE_OPTIONS, type QueueOptions } from './embed-queues';

/** Provides {@link EmbedQueues} to the whole app; expects the CONFIG provider from the app module. */
@Module({})
export class QueueModule {
  static forRoot(options: QueueOptions): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      providers: [{ provide: QUEUE_OPTIONS, useValue: options }, EmbedQueues],
      exports: [EmbedQueues],
    };
  }
}
