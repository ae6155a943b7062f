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
  app
    .get(Logger)
    .log(`api listening on http://${config.HOST}:${config.PORT} (docs at /docs, metrics at /metrics)`);
}

main().catch(exitOnStartupFailure('api'));
