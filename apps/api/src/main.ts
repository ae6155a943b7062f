import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { closeOnSignals, exitOnStartupFailure } from '@tributary/observability';
import { Logger } from 'nestjs-pino';
import { createApp } from './create-app';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await createApp(config);
  closeOnSignals(app, 'api');
  await app.listen({ port: config.PORT, host: config.HOST });
  const docs = config.DOCS_ENABLED ? 'docs at /docs' : 'docs off';
  const metrics = !config.API_METRICS_ENABLED
    ? 'metrics off'
    : config.API_METRICS_PORT === undefined
      ? 'metrics at /metrics'
      : `metrics on port ${config.API_METRICS_PORT}`;
  app.get(Logger).log(`api listening on http://${config.HOST}:${config.PORT} (${docs}, ${metrics})`);
}

main().catch(exitOnStartupFailure('api'));
