import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@tributary/config';
import { closeOnSignals } from '@tributary/observability';
import { Logger } from 'nestjs-pino';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await NestFactory.createApplicationContext(SchedulerModule.register(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  closeOnSignals(app, 'scheduler');
  await app.init();
}

main().catch((err: unknown) => {
  process.stderr.write(`scheduler failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof Error && err.name !== 'ConfigError' && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
