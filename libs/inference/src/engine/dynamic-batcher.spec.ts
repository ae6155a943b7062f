import { DynamicBatcher, type BatchStats } from './dynamic-batcher';
import { InferenceDeadlineError, InferenceOverloadedError } from './errors';

/** A batch function that records what it was given and answers each row with its own length. */
function recorder(delayMs = 0) {
  const batches: number[][][] = [];
  const run = async (rows: readonly (readonly number[])[]) => {
    batches.push(rows.map((r) => [...r]));
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return rows.map((r) => r.length);
  };
  return { batches, run };
}

const far = () => Date.now() + 60_000;

describe('DynamicBatcher', () => {
  it('batches rows submitted together and answers each with its own result', async () => {
    const { batches, run } = recorder();
    const batcher = new DynamicBatcher(run, { maxWaitMs: 5 });
    const a = batcher.submit([[1, 2, 3], [1]], far());
    const b = batcher.submit([[1, 2]], far());
    expect(await Promise.all([...a, ...b])).toEqual([3, 1, 2]);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toEqual([[1], [1, 2], [1, 2, 3]]);
  });

  it('respects the row limit and the padded-token budget, shortest rows first', async () => {
    const { batches, run } = recorder();
    const stats: BatchStats[] = [];
    const batcher = new DynamicBatcher(run, { maxWaitMs: 1, maxBatchSize: 3, maxBatchTokens: 8 }, (s) =>
      stats.push(s),
    );
    const rows = [[1, 1, 1, 1], [1], [1, 1], [1, 1, 1], [1]];
    await Promise.all(batcher.submit(rows, far()));
    for (const s of stats) {
      expect(s.rows).toBeLessThanOrEqual(3);
      expect(s.tokens).toBeLessThanOrEqual(8);
    }
    expect(
      batches
        .flat()
        .map((r) => r.length)
        .sort(),
    ).toEqual([1, 1, 2, 3, 4]);
    expect(batches[0]!.map((r) => r.length)).toEqual([1, 1, 2]);
  });

  it('drops rows whose deadline passed instead of computing them', async () => {
    const { batches, run } = recorder(30);
    const batcher = new DynamicBatcher(run, { maxWaitMs: 0, concurrency: 1 });
    const first = batcher.submit([[1]], far());
    const late = batcher.submit([[2, 2]], Date.now() + 5);
    await expect(late[0]).rejects.toBeInstanceOf(InferenceDeadlineError);
    await first[0];
    expect(batches).toEqual([[[1]]]);
  });

  it('refuses at once when the queue is full, and never hangs', async () => {
    const { run } = recorder(20);
    const batcher = new DynamicBatcher(run, { maxWaitMs: 0, maxQueuedRows: 2, concurrency: 1 });
    const inFlight = batcher.submit([[1]], far());
    const queued = batcher.submit([[1], [1]], far());
    expect(() => batcher.submit([[1]], far())).toThrow(InferenceOverloadedError);
    await Promise.all([...inFlight, ...queued]);
    expect(batcher.depth).toBe(0);
  });

  it('passes a failed batch on to every row in it', async () => {
    const batcher = new DynamicBatcher(() => Promise.reject(new Error('boom')), { maxWaitMs: 0 });
    const [a, b] = batcher.submit([[1], [2]], far());
    await expect(a).rejects.toThrow('boom');
    await expect(b).rejects.toThrow('boom');
  });

  it('shares the queue fairly: a flooding owner is refused, another is admitted and served next', async () => {
    const { batches, run } = recorder(5);
    const batcher = new DynamicBatcher(run, {
      maxWaitMs: 1,
      maxBatchSize: 4,
      maxQueuedRows: 8,
      minShareRows: 2,
    });
    // The first 4 rows form a batch at once; then owner a alone may fill the whole queue, not more.
    const running = batcher.submit(
      Array.from({ length: 4 }, () => [1, 1]),
      far(),
      'a',
    );
    const flood = [
      ...running,
      ...batcher.submit(
        Array.from({ length: 8 }, () => [1, 1]),
        far(),
        'a',
      ),
    ];
    expect(() => batcher.submit([[1, 1]], far(), 'a')).toThrow(InferenceOverloadedError);
    // b is admitted although the queue holds 8 rows: its share with two owners waiting is 4.
    const fair = batcher.submit(
      [
        [2, 2],
        [2, 2],
      ],
      far(),
      'b',
    );
    expect(() => batcher.submit([[2], [2], [2]], far(), 'b')).toThrow(InferenceOverloadedError);
    await Promise.all([...flood, ...fair]);
    // b's rows went into the first batch that formed after they arrived, alternating with a's.
    const firstWithB = batches.findIndex((batch) => batch.some((row) => row[0] === 2));
    expect(firstWithB).toBe(1);
    expect(batches[firstWithB]!.filter((row) => row[0] === 2)).toHaveLength(2);
    // Queued counts are released as rows leave the queue: a can queue again.
    await Promise.all(
      batcher.submit(
        Array.from({ length: 8 }, () => [1]),
        far(),
        'a',
      ),
    );
  });
});
