import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Config } from '@tributary/config';
import type { Registry } from 'prom-client';
import type { EngineOptions } from './embedding-engine';

/**
 * What a process runs inference for: `latency` (the API: one request's batch should finish soon,
 * so one session uses every core) or `throughput` (workers: one single-threaded session per core,
 * each running its own batch, which keeps every core busy without intra-op synchronisation and
 * measured 5–15% more items/s on 2 cores).
 */
export type InferenceWorkload = 'latency' | 'throughput';

/**
 * The engine options a process derives from its configuration (manifests, artifacts, sessions,
 * threads, providers, batching), so the API and the workers start the engine the same way.
 * `minQueuedRows` raises the inference queue bound for a process that holds that many rows itself.
 */
export function engineOptionsFromConfig(
  config: Config,
  models: readonly string[],
  registry?: Registry,
  minQueuedRows = 0,
  workload: InferenceWorkload = 'latency',
): EngineOptions {
  const cores = Math.max(1, availableParallelism());
  return {
    manifestsDir: path.resolve(config.MODEL_MANIFESTS_DIR),
    modelsDataDir: path.join(path.resolve(config.DATA_DIR), 'models'),
    models,
    sessionsPerModel: config.INFERENCE_SESSIONS ?? (workload === 'throughput' ? cores : 1),
    intraOpThreads: config.INFERENCE_INTRA_OP_THREADS ?? (workload === 'throughput' ? 1 : cores),
    executionProviders: config.INFERENCE_EXECUTION_PROVIDERS.split(','),
    batching: {
      maxBatchTokens: config.BATCH_MAX_TOKENS,
      maxBatchSize: config.BATCH_MAX_SIZE,
      maxWaitMs: config.BATCH_MAX_WAIT_MS,
      maxQueuedRows: Math.max(config.INFERENCE_QUEUE_MAX_ROWS, minQueuedRows),
      minShareRows: config.INFERENCE_QUEUE_TENANT_MIN_ROWS,
    },
    ...(registry ? { registry } : {}),
  };
}
