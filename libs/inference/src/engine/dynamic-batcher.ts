import { InferenceDeadlineError, InferenceOverloadedError } from './errors';

export interface BatcherOptions {
  /** Largest sum of padded tokens (rows × longest row) in one batch. @defaultValue 8192 */
  maxBatchTokens?: number;
  /** Most rows in one batch. @defaultValue 64 */
  maxBatchSize?: number;
  /** How long a lone request waits for company before its batch runs. @defaultValue 2 */
  maxWaitMs?: number;
  /**
   * Rows queued at most by one owner alone; beyond it `submit` refuses at once. With n owners
   * waiting, each may have at most max(`minShareRows`, maxQueuedRows / n). @defaultValue 2048
   */
  maxQueuedRows?: number;
  /** The fair share's floor: rows an owner may always queue, however many others wait. @defaultValue 64 */
  minShareRows?: number;
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
  owner: string;
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
 *
 * Rows have an owner (the API's tenants), and the queue is shared fairly between owners: with n
 * owners waiting, each may queue at most max(`minShareRows`, `maxQueuedRows` / n) rows, and a batch
 * takes rows round-robin across owners (each owner's shortest first), so one owner flooding the
 * queue gets refusals while the others are admitted and served in the next batch. With a single
 * owner (the workers never name one) this is exactly the plain length-ordered batcher.
 */
export class DynamicBatcher<R> {
  private queue: Item<R>[] = [];
  /** Rows queued per owner (owners with none are absent). */
  private readonly queuedBy = new Map<string, number>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBatchTokens: number;
  private readonly maxBatchSize: number;
  private readonly maxWaitMs: number;
  private readonly maxQueuedRows: number;
  private readonly minShareRows: number;
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
    this.minShareRows = Math.min(options.minShareRows ?? 64, this.maxQueuedRows);
    this.concurrency = options.concurrency ?? 1;
  }

  /** Rows waiting for a batch. */
  get depth(): number {
    return this.queue.length;
  }

  /**
   * Queues rows for `owner`; rejects at once with {@link InferenceOverloadedError} when they do not
   * fit in the owner's fair share of the queue.
   */
  submit(rows: readonly (readonly number[])[], deadline: number, owner = ''): Promise<R>[] {
    const mine = this.queuedBy.get(owner) ?? 0;
    const owners = this.queuedBy.size + (mine === 0 ? 1 : 0);
    const share = Math.max(this.minShareRows, Math.floor(this.maxQueuedRows / owners));
    if (mine + rows.length > share) {
      throw new InferenceOverloadedError(1);
    }
    const now = Date.now();
    const promises = rows.map(
      (tokens) =>
        new Promise<R>((resolve, reject) => {
          this.queue.push({ tokens, owner, deadline, enqueuedAt: now, resolve, reject });
        }),
    );
    if (rows.length > 0) this.queuedBy.set(owner, mine + rows.length);
    this.schedule();
    return promises;
  }

  private dequeued(items: Iterable<Item<R>>): void {
    for (const { owner } of items) {
      const left = (this.queuedBy.get(owner) ?? 1) - 1;
      if (left > 0) this.queuedBy.set(owner, left);
      else this.queuedBy.delete(owner);
    }
  }

  /** Length order within each owner, owners interleaved round-robin (one owner: plain length order). */
  private fairOrder(live: Item<R>[]): Item<R>[] {
    const byOwner = new Map<string, Item<R>[]>();
    for (const item of live) {
      const list = byOwner.get(item.owner);
      if (list) list.push(item);
      else byOwner.set(item.owner, [item]);
    }
    const lists = [...byOwner.values()];
    for (const list of lists) list.sort((a, b) => a.tokens.length - b.tokens.length);
    if (lists.length === 1) return lists[0]!;
    const ordered: Item<R>[] = [];
    for (let i = 0; ordered.length < live.length; i++)
      for (const list of lists) if (i < list.length) ordered.push(list[i]!);
    return ordered;
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
      const expired: Item<R>[] = [];
      for (const item of this.queue) {
        if (item.deadline <= now) expired.push(item);
        else live.push(item);
      }
      this.dequeued(expired);
      for (const item of expired) item.reject(new InferenceDeadlineError());
      if (live.length === 0) {
        this.queue = [];
        return;
      }
      const batch: Item<R>[] = [];
      let longest = 0;
      for (const item of this.fairOrder(live)) {
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
      this.dequeued(batch);
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
    this.queuedBy.clear();
    for (const item of this.queue.splice(0)) item.reject(reason);
  }
}
