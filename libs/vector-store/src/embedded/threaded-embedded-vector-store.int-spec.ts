import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomVectors } from '../testing/vectors';
import { maxLoopDelayDuring } from '../testing/loop-delay';
import { Payload, VectorPoint, VectorStoreError, VectorStoreErrorCode } from '../vector-store';
import { EmbeddedStore, EmbeddedVectorStore, RebuildSource } from './embedded-vector-store';
import { ThreadedEmbeddedVectorStore } from './threaded-embedded-vector-store';

/** Long enough that the interval never fires during a test: only flush() and close() save. */
const NEVER = 3_600_000;

const makePoints = (prefix: string, vectors: Float32Array[]): VectorPoint[] =>
  vectors.map((vector, i) => ({ id: `${prefix}-${i}`, vector, payload: { i } }));

async function rejection(pending: Promise<unknown>): Promise<unknown> {
  return pending.then(
    () => new Error('expected a rejection'),
    (err: unknown) => err,
  );
}

async function expectStoreError(
  pending: Promise<unknown>,
  code: VectorStoreErrorCode,
): Promise<VectorStoreError> {
  const err = await rejection(pending);
  expect(err).toBeInstanceOf(VectorStoreError);
  expect((err as VectorStoreError).code).toBe(code);
  return err as VectorStoreError;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

describe('ThreadedEmbeddedVectorStore', () => {
  let dir: string;
  let log: string[];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-threaded-'));
    log = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const collect = (message: string): void => void log.push(message);

  it('keeps the event loop free during 256-point upserts and a save, which block it in process', async () => {
    // 8,192 points of 512 dimensions in batches of 256, then one save (the graph, 16 MB of vectors
    // and the sidecar, checksummed), in process and on the thread, measured in the same run.
    const dimensions = 512;
    const vectors = randomVectors(8192, dimensions, 1);
    const measure = async (store: EmbeddedStore) => {
      await store.ensureCollection('loop', dimensions);
      const batchMs: number[] = [];
      const batchDelays: number[] = [];
      for (let start = 0; start < vectors.length; start += 256) {
        const batch = makePoints(`p${start}`, vectors.slice(start, start + 256));
        const started = performance.now();
        batchDelays.push(await maxLoopDelayDuring(() => store.upsert('loop', batch)));
        batchMs.push(performance.now() - started);
      }
      const started = performance.now();
      const saveDelay = await maxLoopDelayDuring(() => store.flush());
      const saveMs = performance.now() - started;
      expect(await store.info('loop')).toEqual({ key: 'loop', dimensions, count: vectors.length });
      await store.close();
      return { batchMs: median(batchMs), batchDelay: Math.max(...batchDelays), saveMs, saveDelay };
    };
    const direct = await measure(
      await EmbeddedVectorStore.open({ dir: path.join(dir, 'direct'), saveEveryMs: NEVER }),
    );
    const threaded = await measure(
      await ThreadedEmbeddedVectorStore.open({ dir: path.join(dir, 'threaded'), saveEveryMs: NEVER }),
    );
    // In process the loop is held for the whole insert of a batch, and for most of a save.
    expect(direct.batchDelay).toBeGreaterThanOrEqual(direct.batchMs * 0.5);
    // On the thread it is never held for even half of what one batch or the save takes in process.
    expect(threaded.batchDelay / direct.batchMs).toBeLessThan(0.5);
    expect(threaded.saveDelay / direct.saveMs).toBeLessThan(0.5);
    expect(threaded.saveDelay / direct.saveDelay).toBeLessThan(1);
  }, 120_000);

  it('returns the in-process errors with their codes, and refuses what cannot be sent to the thread', async () => {
    const store = await ThreadedEmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    try {
      await expectStoreError(store.upsert('missing', []), 'unknown_collection');
      await expectStoreError(store.ensureCollection('Bad Key', 4), 'invalid_argument');
      await store.ensureCollection('errors', 4);
      await expectStoreError(store.ensureCollection('errors', 5), 'dimension_mismatch');
      const good: VectorPoint = { id: 'g', vector: Float32Array.of(1, 0, 0, 0), payload: {} };
      const err = await expectStoreError(
        store.upsert('errors', [good, { ...good, vector: Float32Array.of(1, 0) }]),
        'dimension_mismatch',
      );
      expect(err.message).toBe('Point "g": the vector has 2 dimensions, the collection 4');
      const unclonable = { f: () => 1 } as unknown as Payload;
      await expectStoreError(store.upsert('errors', [{ ...good, payload: unclonable }]), 'invalid_argument');
      await expectStoreError(store.upsert('errors', 'nope' as unknown as VectorPoint[]), 'invalid_argument');
      expect((await store.info('errors'))?.count).toBe(0);
      // The synchronous ones throw as they do in process.
      expect(() => store.setVersion('missing', '1')).toThrow(
        new VectorStoreError('Unknown vector collection missing', 'unknown_collection'),
      );
      expect(() => store.versionOf('Bad Key')).toThrow(VectorStoreError);
      // A vector that is a view on a larger buffer is sent alone.
      const big = new Float32Array(4 * 1000).fill(1);
      await store.upsert('errors', [{ id: 'view', vector: big.subarray(8, 12), payload: {} }]);
      expect((await store.search('errors', { vector: Float32Array.of(1, 1, 1, 1), k: 1 }))[0]?.id).toBe(
        'view',
      );
      expect(big.length).toBe(4000);
      // Without a source, as in process.
      await expect(store.rebuild('errors', 'a test')).rejects.toThrow(
        new VectorStoreError('This store has no rebuild source'),
      );
    } finally {
      await store.close();
    }
  });

  it('passes the rebuild source’s own errors back, and keeps versions across calls and a reopen', async () => {
    let failing = false;
    const content = makePoints('s', randomVectors(100, 8, 2));
    const source: RebuildSource = {
      collections: () => Promise.resolve([{ key: 'src', dimensions: 8 }]),
      version: () => (failing ? Promise.reject(new Error('the database is down')) : Promise.resolve('4')),
      // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable of ready batches
      async *points() {
        for (let start = 0; start < content.length; start += 32) yield content.slice(start, start + 32);
      },
    };
    const store = await ThreadedEmbeddedVectorStore.open({ dir, source, saveEveryMs: NEVER, log: collect });
    try {
      expect(log).toEqual([
        expect.stringMatching(/^Rebuilt vector collection src from source \(no files on disk\): 100 points/),
      ]);
      expect(store.versionOf('src')).toBe('4');
      store.setVersion('src', '5');
      expect(store.versionOf('src')).toBe('5');
      await store.ensureCollection('src', 8);
      expect(store.versionOf('src')).toBe('5');
      failing = true;
      await expect(store.rebuild('src', 'a test')).rejects.toThrow(new Error('the database is down'));
      expect(await store.sourceVersions().catch((err: Error) => err.message)).toBe('the database is down');
      failing = false;
      expect(await store.sourceVersions()).toEqual(new Map([['src', '4']]));
      await store.dropCollection('src');
      expect(store.versionOf('src')).toBeUndefined();
      await store.ensureCollection('src', 8);
      store.setVersion('src', '6');
    } finally {
      await store.close();
    }
    const reopened = await ThreadedEmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    try {
      expect(reopened.versionOf('src')).toBe('6');
    } finally {
      await reopened.close();
    }
  });

  it('closes itself when its thread dies: calls in flight and later ones fail with code closed', async () => {
    // Once `hang` is set, a rebuild waits on the source until the thread is gone.
    let hang = false;
    let reading: () => void = () => undefined;
    const read = new Promise<void>((resolve) => (reading = resolve));
    const source: RebuildSource = {
      collections: () => Promise.resolve([{ key: 'dies', dimensions: 4 }]),
      version: () => Promise.resolve('1'),
      async *points() {
        if (hang) {
          reading();
          await new Promise(() => undefined);
        }
        yield [{ id: 'a', vector: Float32Array.of(1, 0, 0, 0), payload: {} }];
      },
    };
    const store = await ThreadedEmbeddedVectorStore.open({ dir, source, saveEveryMs: NEVER, log: collect });
    const bystander = await ThreadedEmbeddedVectorStore.open({
      dir: path.join(dir, 'other'),
      saveEveryMs: NEVER,
    });
    expect(await store.info('dies')).toEqual({ key: 'dies', dimensions: 4, count: 1 });
    log = [];
    hang = true;
    const rebuilding = store.rebuild('dies', 'a test');
    await read;
    await store.kill();
    const err = await expectStoreError(rebuilding, 'closed');
    expect(err.message).toMatch(/^The vector store's thread exited unexpectedly \(code 1\)/);
    expect(log).toEqual([err.message]);
    await expectStoreError(store.info('dies'), 'closed');
    expect(() => store.versionOf('dies')).toThrow(err.message);
    expect(() => store.setVersion('dies', '2')).toThrow(err.message);
    await store.close();
    await store.close();
    // Another store, on a thread of its own, carries on.
    await bystander.ensureCollection('alive', 4);
    expect(await bystander.list()).toEqual([{ key: 'alive', dimensions: 4, count: 0 }]);
    await bystander.close();
  });

  it('saves on close and ends its thread', async () => {
    const store = await ThreadedEmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    await store.ensureCollection('kept', 8);
    await store.upsert('kept', makePoints('k', randomVectors(20, 8, 3)));
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    await expectStoreError(store.info('kept'), 'closed');
    const reopened = await EmbeddedVectorStore.open({ dir, saveEveryMs: NEVER });
    expect(await reopened.info('kept')).toEqual({ key: 'kept', dimensions: 8, count: 20 });
    await reopened.close();
  });
});
