import path from 'node:path';
import type { Config } from '@tributary/config';
import type { Registry } from 'prom-client';
import type { EngineOptions } from './embedding-engine';

/**
 * The engine options a process derives from its configuration (manifests, artifacts, sessions,
 * threads, providers, batching), so the API and the workers start the engine the same way.
 * `minQueuedRows` raises the inference queue bound for a process that holds that many rows itself.
 */
export function engineOptionsFromConfig(
  config: Config,
  models: string[],
  registry?: Registry,
  minQueuedRows = 0,
): EngineOptions {
  return {
    manifestsDir: path.resolve(config.MODEL_MANIFESTS_DIR),
    modelsDataDir: path.join(path.resolve(config.DATA_DIR), 'models'),
    models,
    sessionsPerModel: config.INFERENCE_SESSIONS,
    intraOpThreads: config.INFERENCE_INTRA_OP_THREADS,
    executionProviders: config.INFERENCE_EXECUTION_PROVIDERS.split(','),
    batching: {
      maxBatchTokens: config.BATCH_MAX_TOKENS,
      maxBatchSize: config.BATCH_MAX_SIZE,
      maxWaitMs: config.BATCH_MAX_WAIT_MS,
      maxQueuedRows: Math.max(config.INFERENCE_QUEUE_MAX_ROWS, minQueuedRows),
    },
    ...(registry ? { registry } : {}),
  };
}
