import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { verifyArtifacts } from '../models/artifacts';
import { modelId, readManifests, type ModelManifest } from '../models/manifest';
import { DynamicBatcher, type BatcherOptions } from './dynamic-batcher';
import { createModelRuntime, type InputType, type ModelRuntime } from './model-runtime';
import { SessionPool } from './session-pool';

export interface EngineOptions {
  /** The repository's `models/` folder (manifests). */
  manifestsDir: string;
  /** `DATA_DIR/models` (verified artifacts). */
  modelsDataDir: string;
  /** Model versions to serve, e.g. `['use-lite@1', 'use-lite-int8@1']`. */
  models: readonly string[];
  /** Sessions (worker threads) per model. @defaultValue 1 */
  sessionsPerModel?: number;
  /** ONNX Runtime intra-op threads per session. @defaultValue 1 */
  intraOpThreads?: number;
  /** Execution providers in order of preference. @defaultValue ['cpu'] */
  executionProviders?: string[];
  batching?: BatcherOptions;
  /** Where the engine registers its metrics. */
  registry?: Registry;
}

export interface ModelInfo {
  id: string;
  dimensions: number;
  maxTokens: number;
  quantization: string;
}

export interface Tokenized {
  rows: number[][];
  /** Indices of inputs cut to the model's token limit. */
  truncated: number[];
  tokens: number;
}

/** {@link Tokenized}, with a text that could not be tokenized reported at its index. */
export interface TokenizedEach {
  /** Token ids per text; undefined where the text could not be tokenized. */
  rows: (number[] | undefined)[];
  /** Why a text could not be tokenized, at its index (undefined where it was). */
  errors: (Error | undefined)[];
  /** Indices of texts cut to the model's token limit. */
  truncated: number[];
  tokens: number;
}

/**
 * Whose rows: `live` (requests, stream items) or `background` (a rollout's backfill), which runs
 * on sessions of its own at the lowest CPU priority and so only takes what live work leaves.
 */
export type InferencePriority = 'live' | 'background';

/** Sessions and the batcher in front of them. */
interface Lane {
  pool: SessionPool;
  batcher: DynamicBatcher<Float32Array>;
}

interface LoadedModel {
  manifest: ModelManifest;
  runtime: ModelRuntime;
  modelPath: string;
  live: Lane;
  /** Started on the first background rows (`backgroundLane` once it has). */
  background?: Promise<Lane>;
  backgroundLane?: Lane;
}

/** Background sessions' nice value (Linux): the lowest priority. */
const BACKGROUND_NICENESS = 19;

class EngineMetrics {
  readonly queueWait: Histogram<'model'>;
  readonly tokenize: Histogram<'model'>;
  readonly infer: Histogram<'model'>;
  readonly total: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly batchTokens: Histogram<'model'>;
  readonly queueDepth: Gauge<'model'>;
  readonly dropped: Counter<'model' | 'reason'>;

  constructor(registry: Registry | undefined, depth: (model: string) => number, models: readonly string[]) {
    const registers = registry ? [registry] : [];
    const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
    this.queueWait = new Histogram({
      name: 'tributary_inference_queue_wait_seconds',
      help: 'Time a row waited for its batch',
      labelNames: ['model'],
      buckets: seconds,
      registers,
    });
    this.tokenize = new Histogram({
      name: 'tributary_tokenize_duration_seconds',
      help: 'Tokenisation time per call (one request, or one worker micro-batch)',
      labelNames: ['model'],
      buckets: seconds,
      registers,
    });
    this.infer = new Histogram({
      name: 'tributary_inference_duration_seconds',
      help: 'ONNX Runtime time per batch',
      labelNames: ['model'],
      buckets: seconds,
      registers,
    });
    this.total = new Histogram({
      name: 'tributary_embed_duration_seconds',
      help: 'Total engine time per request (tokenise, queue, infer)',
      labelNames: ['model'],
      buckets: seconds,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'tributary_inference_batch_size',
      help: 'Rows per batch',
      labelNames: ['model'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.batchTokens = new Histogram({
      name: 'tributary_inference_batch_tokens',
      help: 'Padded tokens per batch',
      labelNames: ['model'],
      buckets: [16, 64, 256, 1024, 4096, 16384],
      registers,
    });
    this.dropped = new Counter({
      name: 'tributary_inference_rejected_total',
      help: 'Rows refused (queue full) or dropped (deadline passed)',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'tributary_inference_queue_depth',
      help: 'Rows waiting for inference',
      labelNames: ['model'],
      registers,
      collect() {
        for (const m of models) this.set({ model: m }, depth(m));
      },
    });
  }
}

/**
 * Serves embeddings for the configured model versions: verified artifacts, a pool of ONNX
 * Runtime sessions on worker threads per model, dynamic batching in front of each pool, and
 * metrics for every phase. Warms every session up before `start` resolves.
 */
export class EmbeddingEngine {
  private readonly loaded = new Map<string, LoadedModel>();
  private metrics!: EngineMetrics;
  private options!: EngineOptions;

  private constructor() {}

  static async start(options: EngineOptions): Promise<EmbeddingEngine> {
    const engine = new EmbeddingEngine();
    engine.options = options;
    engine.metrics = new EngineMetrics(options.registry, (m) => engine.queueDepth(m), options.models);
    const manifests = new Map(readManifests(options.manifestsDir).map((m) => [modelId(m), m]));
    try {
      for (const id of options.models) {
        const manifest = manifests.get(id);
        if (!manifest)
          throw new Error(
            `model ${id} has no manifest under ${options.manifestsDir}; known: ${[...manifests.keys()].join(', ')}`,
          );
        const files = await verifyArtifacts(options.modelsDataDir, manifest);
        if (!files['model.onnx']) throw new Error(`model ${id}: its manifest names no model.onnx artifact`);
        const runtime = createModelRuntime(manifest, files);
        const modelPath = files['model.onnx'];
        const live = await engine.startLane(id, runtime, modelPath, 0);
        engine.loaded.set(id, { manifest, runtime, modelPath, live });
      }
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  /** A model's sessions (warmed up: each runs once before traffic arrives) and their batcher. */
  private async startLane(
    id: string,
    runtime: ModelRuntime,
    modelPath: string,
    niceness: number,
  ): Promise<Lane> {
    const options = this.options;
    const pool = await SessionPool.start({
      modelPath,
      outputName: runtime.outputName,
      size: options.sessionsPerModel ?? 1,
      intraOpThreads: options.intraOpThreads ?? 1,
      executionProviders: options.executionProviders ?? ['cpu'],
      niceness,
    });
    const batcher = new DynamicBatcher<Float32Array>(
      async (rows) => {
        const batch = runtime.prepare(rows);
        const output = await pool.run(batch.feeds);
        this.metrics.infer.observe({ model: id }, output.inferSeconds);
        return batch.decode(output);
      },
      { ...options.batching, concurrency: pool.size },
      (stats) => {
        this.metrics.batchSize.observe({ model: id }, stats.rows);
        this.metrics.batchTokens.observe({ model: id }, stats.tokens);
        for (const w of stats.queueWaitSeconds) this.metrics.queueWait.observe({ model: id }, w);
      },
    );
    try {
      await Promise.all(
        Array.from({ length: pool.size }, () => pool.run(runtime.prepare(runtime.warmupRows).feeds)),
      );
    } catch (err) {
      await pool.close();
      throw err;
    }
    return { pool, batcher };
  }

  /** The lane that runs `priority`'s rows (the background one is started on first use). */
  private lane(model: LoadedModel, id: string, priority: InferencePriority): Lane | Promise<Lane> {
    if (priority === 'live') return model.live;
    if (!model.background) {
      const started = this.startLane(id, model.runtime, model.modelPath, BACKGROUND_NICENESS);
      model.background = started;
      started.then(
        (lane) => (model.backgroundLane = lane),
        // A lane that failed to start is tried again by the next background rows.
        () => {
          if (model.background === started) model.background = undefined;
        },
      );
    }
    return model.background;
  }

  models(): ModelInfo[] {
    return [...this.loaded.values()].map(({ manifest }) => ({
      id: modelId(manifest),
      dimensions: manifest.dimensions,
      maxTokens: manifest.maxTokens,
      quantization: manifest.quantization,
    }));
  }

  model(id: string): ModelInfo | undefined {
    return this.models().find((m) => m.id === id);
  }

  /** Rows waiting for inference by a model, live and background. */
  queueDepth(id: string): number {
    const model = this.loaded.get(id);
    return (model?.live.batcher.depth ?? 0) + (model?.backgroundLane?.batcher.depth ?? 0);
  }

  private get(id: string): LoadedModel {
    const model = this.loaded.get(id);
    if (!model) throw new Error(`model ${id} is not served by this engine`);
    return model;
  }

  /**
   * Token ids per text; `inputType` picks the model's query or passage prefix, where it has them.
   * Throws the first text's error when a text cannot be tokenized (see {@link tokenizeEach}).
   */
  tokenize(id: string, texts: readonly string[], inputType: InputType = 'passage'): Tokenized {
    const { rows, errors, truncated, tokens } = this.tokenizeEach(id, texts, inputType);
    const failed = errors.find((error) => error !== undefined);
    if (failed) throw failed;
    return { rows: rows as number[][], truncated, tokens };
  }

  /**
   * Tokenizes every text in one call, a text that cannot be tokenized failing alone: its row is
   * undefined and its error sits at its index, the others are tokenized as usual. `truncated` and
   * `tokens` cover the texts tokenized.
   */
  tokenizeEach(id: string, texts: readonly string[], inputType: InputType = 'passage'): TokenizedEach {
    const model = this.get(id);
    const started = process.hrtime.bigint();
    const rows: (number[] | undefined)[] = [];
    const errors: (Error | undefined)[] = [];
    const truncated: number[] = [];
    let tokens = 0;
    texts.forEach((text, i) => {
      try {
        const { ids, truncated: cut } = model.runtime.tokenize(text, inputType);
        rows.push(ids);
        errors.push(undefined);
        tokens += ids.length;
        if (cut) truncated.push(i);
      } catch (err) {
        rows.push(undefined);
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    });
    this.metrics.tokenize.observe({ model: id }, Number(process.hrtime.bigint() - started) / 1e9);
    return { rows, errors, truncated, tokens };
  }

  /**
   * Embeds tokenized rows. Throws `InferenceOverloadedError` at once when `owner`'s fair share of
   * the queue is full (see {@link DynamicBatcher}); rows still queued at `deadline` are dropped
   * (`InferenceDeadlineError`). `background` rows go to the model's background sessions (see
   * {@link InferencePriority}): on a busy machine they wait for the CPU, never live rows for them.
   */
  async embedRows(
    id: string,
    rows: readonly (readonly number[])[],
    deadline: number,
    owner?: string,
    priority: InferencePriority = 'live',
  ): Promise<Float32Array[]> {
    const model = this.get(id);
    const started = process.hrtime.bigint();
    const lane = await this.lane(model, id, priority);
    let promises: Promise<Float32Array>[];
    try {
      promises = lane.batcher.submit(rows, deadline, owner);
    } catch (err) {
      this.metrics.dropped.inc({ model: id, reason: 'queue_full' }, rows.length);
      throw err;
    }
    try {
      return await Promise.all(promises);
    } catch (err) {
      this.metrics.dropped.inc({ model: id, reason: 'deadline' }, rows.length);
      throw err;
    } finally {
      this.metrics.total.observe({ model: id }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  async close(): Promise<void> {
    for (const model of this.loaded.values()) {
      const lanes = [model.live, await model.background?.catch(() => undefined)];
      for (const lane of lanes) {
        lane?.batcher.drain(new Error('engine is shutting down'));
        await lane?.pool.close();
      }
    }
    this.loaded.clear();
  }
}
