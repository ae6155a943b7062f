import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('batches concurrent submissions and hands each its own result', async () => {
    const seen: number[][] = [];
    const batcher = new MicroBatcher<number, number>(
      (items) => {
        seen.push(items);
        return Promise.resolve(items.map((i) => i * 2));
      },
      { maxItems: 4, maxWaitMs: 5 },
    );
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => batcher.submit(i)));
    expect(results).toEqual([2, 4, 6, 8, 10, 12]);
    expect(seen[0]).toEqual([1, 2, 3, 4]);
    expect(seen.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fails only the items whose result is an error, and every item when the batch throws', async () => {
    const batcher = new MicroBatcher<number, number>(
      (items) => {
        if (items.includes(99)) return Promise.reject(new Error('batch down'));
        return Promise.resolve(items.map((i) => (i < 0 ? new Error(`bad ${i}`) : i)));
      },
      { maxItems: 10, maxWaitMs: 1 },
    );
    const outcomes = await Promise.allSettled([batcher.submit(1), batcher.submit(-1)]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: new Error('bad -1') });
    await expect(batcher.submit(99)).rejects.toThrow('batch down');
  });

  it('closes a partial batch after the wait instead of waiting for it to fill', async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher<string, string>(
      (items) => {
        batches.push(items);
        return Promise.resolve(items);
      },
      { maxItems: 100, maxWaitMs: 10 },
    );
    await expect(batcher.submit('x')).resolves.toBe('x');
    expect(batches).toEqual([['x']]);
  });
});
