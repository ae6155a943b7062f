import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, type Config } from '@tributary/config';
import { loggerOptions } from '@tributary/observability';
import { LoggerModule } from 'nestjs-pino';
import { SchedulerService } from './scheduler.service';

@Module({})
export class SchedulerModule {
  static register(config: Config): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ pinoHttp: loggerOptions(config, 'scheduler') }),
      ],
      providers: [SchedulerService],
    };
  }
}
