import { DynamicModule, Global, Module } from '@nestjs/common';
import type { Config } from './config';
import { CONFIG } from './config.token';

/** Provides the frozen {@link Config} under the {@link CONFIG} token to the whole app. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: Config): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] };
  }
}
