import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { closeOnSignals } from '@tributary/observability';
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

main().catch((err: unknown) => {
  process.stderr.write(`api failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof Error && err.name !== 'ConfigError' && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
