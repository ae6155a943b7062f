export {
  ConfigError,
  configSchema,
  configVariables,
  ingestBodyLimitBytes,
  loadConfig,
  selectWorkerQueues,
} from './config';
export type { Config } from './config';
export { CONFIG } from './config.token';
export { ConfigModule } from './config.module';
