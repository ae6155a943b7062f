import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { exitOnStartupFailure, runApplicationContext } from '@tributary/observability';
import { SchedulerModule } from './scheduler.module';

async function main(): Promise<void> {
  await runApplicationContext(SchedulerModule.register(loadConfig(process.env)), 'scheduler');
}

main().catch(exitOnStartupFailure('scheduler'));
