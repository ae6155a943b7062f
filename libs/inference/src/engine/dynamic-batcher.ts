import { InferenceDeadlineError, InferenceOverloadedError } from './errors';

export interface BatcherOptions {
  /** Largest sum of padded tokens (rows × longest row) in one batch. @defaultValue 8192 */
  maxBatchTokens?: number;
  /** Most rows in one batch. @defaultValue 64 */
  maxBatchSize?: number;
  /** How long a lone request waits for company before its batch runs. @defaultValue 2 */
  maxWaitMs?: number;
  /** Rows queued at most; beyond it `submit` refuses at once. @defaultValue 2048 */
  maxQueuedRows?: number;
  /** Batches in flight at once (one per session). @defaultValue 1 */
  concurrency?: number;
}

export interface BatchStats {
  rows: number;
  tokens: number;
  queueWaitSeconds: number[];
}

interface Item<R> {
  tokens: readonly number[];
  deadline: number;
  enqueuedAt: number;
  resolve(result: R): void;
  reject(err: Error): void;
}

/**
 * Dynamic batching as TEI and Infinity do it: requests queue as rows; whenever a session is free
 * the batcher takes rows in order of length (similar lengths together waste less padding) up to
 * a token budget and a row limit, waiting at most `maxWaitMs` for a batch to fill. Rows whose
 * deadline has passed are dropped from the queue, never computed. A full queue refuses at once.
 */
export class DynamicBatcher<R> {
  private queue: Item<R>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBatchTokens: number;
  private readonly maxBatchSize: number;
  private readonly maxWaitMs: number;
  private readonly maxQueuedRows: number;
  private readonly concurrency: number;

  constructor(
    private readonly runBatch: (rows: readonly (readonly number[])[]) => Promise<R[]>,
    options: BatcherOptions = {},
    private readonly onBatch?: (stats: BatchStats) => void,
  ) {
    this.maxBatchTokens = options.maxBatchTokens ?? 8192;
    this.maxBatchSize = options.maxBatchSize ?? 64;
    this.maxWaitMs = options.maxWaitMs ?? 2;
    this.maxQueuedRows = options.maxQueuedRows ?? 2048;
    this.concurrency = options.concurrency ?? 1;
  }

  /** Rows waiting for a batch. */
  get depth(): number {
    return this.queue.length;
  }

  /** Queues rows; rejects at once with {@link InferenceOverloadedError} when they do not fit. */
  submit(rows: readonly (readonly number[])[], deadline: number): Promise<R>[] {
    if (this.queue.length + rows.length > this.maxQueuedRows) {
      throw new InferenceOverloadedError(1);
    }
    const now = Date.now();
    const promises = rows.map(
      (tokens) =>
        new Promise<R>((resolve, reject) => {
          this.queue.push({ tokens, deadline, enqueuedAt: now, resolve, reject });
        }),
    );
    this.schedule();
    return promises;
  }

  private schedule(): void {
    if (this.inFlight >= this.concurrency || this.queue.length === 0) return;
    const full = this.queue.length >= this.maxBatchSize || this.queuedTokens() >= this.maxBatchTokens;
    if (full || this.maxWaitMs === 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.maxWaitMs);
  }

  private queuedTokens(): number {
    let tokens = 0;
    for (const item of this.queue) tokens += Math.max(1, item.tokens.length);
    return tokens;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const now = Date.now();
      const live: Item<R>[] = [];
      for (const item of this.queue) {
        if (item.deadline <= now) item.reject(new InferenceDeadlineError());
        else live.push(item);
      }
      if (live.length === 0) {
        this.queue = [];
        return;
      }
      live.sort((a, b) => a.tokens.length - b.tokens.length);
      const batch: Item<R>[] = [];
      let longest = 0;
      for (const item of live) {
        const nextLongest = Math.max(longest, item.tokens.length, 1);
        if (
          batch.length > 0 &&
          (batch.length >= this.maxBatchSize || nextLongest * (batch.length + 1) > this.maxBatchTokens)
        )
          break;
        batch.push(item);
        longest = nextLongest;
      }
      const taken = new Set(batch);
      this.queue = live.filter((item) => !taken.has(item));
      this.execute(batch, longest, now);
    }
  }

  private execute(batch: Item<R>[], longest: number, startedAt: number): void {
    this.inFlight++;
    this.onBatch?.({
      rows: batch.length,
      tokens: longest * batch.length,
      queueWaitSeconds: batch.map((item) => (startedAt - item.enqueuedAt) / 1000),
    });
    this.runBatch(batch.map((item) => item.tokens))
      .then(
        (results) => batch.forEach((item, i) => item.resolve(results[i]!)),
        (err: unknown) =>
          batch.forEach((item) => item.reject(err instanceof Error ? err : new Error(String(err)))),
      )
      .finally(() => {
        this.inFlight--;
        this.schedule();
      });
  }

  /** Rejects everything queued (shutdown). */
  drain(reason: Error): void {
    clearTimeout(this.timer);
    for (const item of this.queue.splice(0)) item.reject(reason);
  }
}
