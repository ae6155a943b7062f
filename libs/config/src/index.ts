export {
  ConfigError,
  configSchema,
  configVariables,
  ingestBodyLimitBytes,
  loadConfig,
  RedisNotConfiguredError,
  redisUrlOf,
  selectWorkerQueues,
} from './config';
export type { Config } from './config';
export { CONFIG } from './config.token';
export { ConfigModule } from './config.module';
export { resolveSecretsKeys, SECRETS_KEY_FILE } from './secrets-keys';
export type { SecretsKey, SecretsKeys } from './secrets-keys';
