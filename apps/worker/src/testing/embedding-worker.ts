import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@tributary/config';
import { embedQueueName } from '@tributary/queue';
import { createTestDatabase, testRedisUrl, uniqueRedisPrefix } from '@tributary/testing';
import { Logger } from 'nestjs-pino';
import { WorkerModule } from '../worker.module';

export interface EmbeddingWorker {
  app: INestApplicationContext;
  /** The Redis key prefix of this worker's queues. */
  prefix: string;
  /** The `use-lite@1` queue the worker serves. */
  queueName: string;
  /** Log lines the worker wrote at `logLevel` or above. */
  lines: string[];
  close(): Promise<void>;
}

/**
 * A real worker (WorkerModule, the `use-lite@1` model on one session) serving the model's queue on
 * a database of its own and a Redis prefix of its own, for specs of what workers do with items.
 */
export async function startEmbeddingWorker(logLevel: 'error' | 'warn' = 'error'): Promise<EmbeddingWorker> {
  const db = await createTestDatabase();
  const prefix = uniqueRedisPrefix();
  const queueName = embedQueueName('use-lite@1');
  const config = loadConfig({
    DATABASE_URL: db.url,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    LOG_LEVEL: logLevel,
    NODE_ENV: 'test',
    DATA_DIR: '.data',
    MODELS: 'use-lite@1',
    WORKER_QUEUES: queueName,
    INFERENCE_SESSIONS: '1',
    INFERENCE_INTRA_OP_THREADS: '1',
    DATABASE_POOL_SIZE: '3',
  });
  const lines: string[] = [];
  const app = await NestFactory.createApplicationContext(
    WorkerModule.register(config, { write: (line: string) => lines.push(line) }),
    { bufferLogs: true },
  );
  app.useLogger(app.get(Logger));
  app.flushLogs();
  await app.init();
  return {
    app,
    prefix,
    queueName,
    lines,
    async close() {
      await app.close();
      await db.drop();
    },
  };
}
