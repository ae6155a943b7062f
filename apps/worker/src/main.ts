import 'reflect-metadata';
import { loadConfig } from '@tributary/config';
import { exitOnStartupFailure, runApplicationContext } from '@tributary/observability';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  await runApplicationContext(WorkerModule.register(loadConfig(process.env)), 'worker');
}

main().catch(exitOnStartupFailure('worker'));
