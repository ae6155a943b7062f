import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@tributary/config';
import { closeOnSignals } from '@tributary/observability';
import { Logger } from 'nestjs-pino';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await NestFactory.createApplicationContext(WorkerModule.register(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  closeOnSignals(app, 'worker');
  await app.init();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof Error && err.name !== 'ConfigError' && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
