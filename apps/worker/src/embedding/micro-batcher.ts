/**
 * Gathers work from many concurrent jobs into batches: a batch closes when it holds `maxItems` or
 * when `maxWaitMs` passed since its first item, and each submitter gets its own item's outcome.
 * One batch runs at a time per batcher; items arriving meanwhile form the next one, so batches
 * grow by themselves under load and stay small (fast) when it is light.
 */
export class MicroBatcher<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;

  constructor(
    private readonly process: (items: T[]) => Promise<(R | Error)[]>,
    private readonly options: { maxItems: number; maxWaitMs: number; concurrency?: number },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running >= (this.options.concurrency ?? 1)) return;
    if (this.pending.length >= this.options.maxItems) {
      this.flush();
    } else if (!this.timer && this.pending.length > 0) {
      this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.running >= (this.options.concurrency ?? 1)) return;
    const batch = this.pending.splice(0, this.options.maxItems);
    this.running++;
    this.process(batch.map((b) => b.item))
      .then(
        (results) =>
          batch.forEach((b, i) => {
            const r = results[i];
            if (r instanceof Error) b.reject(r);
            else b.resolve(r as R);
          }),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        this.running--;
        this.schedule();
      });
  }
}
