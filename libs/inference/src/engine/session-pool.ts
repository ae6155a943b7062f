import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface Feed {
  type: 'int64' | 'float32' | 'int32';
  data: BigInt64Array | Float32Array | Int32Array;
  dims: number[];
}

export interface PoolOutput {
  data: Float32Array;
  dims: number[];
  /** Seconds ONNX Runtime spent in `run()`. */
  inferSeconds: number;
}

export interface SessionPoolOptions {
  modelPath: string;
  outputName: string;
  /** Worker threads, each with its own session. @defaultValue 1 */
  size?: number;
  /** ONNX Runtime intra-op threads per session. @defaultValue 1 */
  intraOpThreads?: number;
  /**
   * Execution providers in order of preference, e.g. `['cuda', 'cpu']`. CUDA needs
   * onnxruntime-node's GPU binaries and a CUDA runtime on the machine. @defaultValue ['cpu']
   */
  executionProviders?: string[];
  /**
   * Nice value of the sessions' threads (Linux only, where the nice value is per thread; ignored
   * elsewhere, where it would be the whole process's). 19 makes background sessions take only the
   * CPU that threads of normal priority leave. @defaultValue 0
   */
  niceness?: number;
}

/** How long `close` waits at most for the batches being computed. */
const CLOSE_WAIT_MS = 30_000;

interface Pending {
  resolve(output: PoolOutput): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  busy: boolean;
  pending: Map<number, Pending>;
}

/**
 * ONNX Runtime sessions on worker threads, so inference never blocks the event loop of the API
 * or worker process. `run()` hands a batch to an idle session; callers (the batcher) keep at
 * most one batch per session in flight.
 */
export class SessionPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  /** Batches sent to a thread and not yet answered (each settles either way). */
  private readonly running = new Set<Promise<void>>();

  private constructor(private readonly options: SessionPoolOptions) {}

  static async start(options: SessionPoolOptions): Promise<SessionPool> {
    const pool = new SessionPool(options);
    try {
      await Promise.all(Array.from({ length: options.size ?? 1 }, () => pool.spawn()));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Sessions not running a batch now. */
  get idle(): number {
    return this.slots.filter((s) => !s.busy).length;
  }

  private spawn(): Promise<void> {
    const worker = new Worker(path.join(__dirname, 'ort-worker.cjs'), {
      workerData: {
        modelPath: this.options.modelPath,
        outputName: this.options.outputName,
        intraOpThreads: this.options.intraOpThreads ?? 1,
        executionProviders: this.options.executionProviders ?? ['cpu'],
        niceness: process.platform === 'linux' ? (this.options.niceness ?? 0) : 0,
      },
      execArgv: [],
    });
    const slot: Slot = { worker, busy: false, pending: new Map() };
    return new Promise((resolve, reject) => {
      worker.on(
        'message',
        (message: { ready?: true; fatal?: string; id?: number; error?: string } & Partial<PoolOutput>) => {
          if (message.ready) {
            this.slots.push(slot);
            resolve();
            return;
          }
          if (message.fatal) {
            reject(new Error(`inference session failed to start: ${message.fatal}`));
            return;
          }
          const pending = slot.pending.get(message.id!);
          if (!pending) return;
          slot.pending.delete(message.id!);
          slot.busy = slot.pending.size > 0;
          if (message.error) pending.reject(new Error(`inference failed: ${message.error}`));
          else
            pending.resolve({
              data: message.data!,
              dims: message.dims!,
              inferSeconds: message.inferSeconds!,
            });
        },
      );
      worker.on('error', (err) => {
        reject(err);
        for (const p of slot.pending.values()) p.reject(err);
        slot.pending.clear();
      });
    });
  }

  /** Runs one batch on an idle session (or the least busy one). */
  run(feeds: Record<string, Feed>): Promise<PoolOutput> {
    if (this.closed) return Promise.reject(new Error('session pool is closed'));
    const slot =
      this.slots.find((s) => !s.busy) ??
      this.slots.reduce((a, b) => (a.pending.size <= b.pending.size ? a : b));
    const id = this.nextId++;
    slot.busy = true;
    const run = new Promise<PoolOutput>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, feeds });
    });
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    return run;
  }

  /**
   * Lets the batches being computed finish (terminating a thread inside ONNX Runtime's `run()`
   * aborts the whole process), then ends the threads.
   */
  async close(): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.running),
      // A batch that never answers does not hold the shutdown up for ever.
      new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
