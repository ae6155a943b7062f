import { IndexLogWriter } from './index-log/index-log.writer';
import type { IndexMetrics, VectorStore, VectorWriter } from './vector-store';
import { EnsureOnceVectorWriter, MeasuredVectorWriter, openVectorWriter } from './vector-writer';

function recordingMetrics() {
  const seen: { metric: string; labels: unknown; value?: number }[] = [];
  const metrics: IndexMetrics = {
    indexUpsertDuration: { observe: (labels, value) => seen.push({ metric: 'upsert', labels, value }) },
    freshness: { observe: (labels, value) => seen.push({ metric: 'freshness', labels, value }) },
    indexRebuilds: { inc: (labels) => seen.push({ metric: 'rebuilds', labels }) },
  };
  return { metrics, seen };
}

describe('openVectorWriter', () => {
  const deps = () => ({
    sql: { query: () => Promise.reject(new Error('no SQL here')) },
    redis: {} as never,
    versions: { next: () => Promise.reject(new Error('no versions here')) },
    metrics: recordingMetrics().metrics,
  });
  const config = {
    VECTOR_STORE: 'embedded' as const,
    QDRANT_URL: undefined,
    QDRANT_API_KEY: undefined,
    REDIS_PREFIX: 'tp',
    INDEX_LOG_RETENTION_MS: 60_000,
  };

  it('writes through the index log for the embedded store, and to the shared store otherwise', () => {
    expect(openVectorWriter(config, deps())).toBeInstanceOf(IndexLogWriter);
    const pg = openVectorWriter({ ...config, VECTOR_STORE: 'pgvector' }, deps());
    expect(pg).toBeInstanceOf(MeasuredVectorWriter);
    expect(pg.kind).toBe('pgvector');
  });
});

describe('MeasuredVectorWriter', () => {
  it('times each upsert and measures each point’s freshness with the store’s label, after the write', async () => {
    const calls: string[] = [];
    const store = {
      kind: 'qdrant',
      upsert: (key: string, points: unknown[]) => {
        calls.push(`upsert ${key} ${points.length}`);
        return Promise.resolve();
      },
      delete: (_key: string, ids: string[]) => Promise.resolve(ids.length),
    } as unknown as VectorStore;
    const { metrics, seen } = recordingMetrics();
    const writer = new MeasuredVectorWriter(store, metrics);
    const now = Date.now();
    const point = { id: 'a', vector: Float32Array.of(1, 0), payload: {} };
    await writer.upsert('c', [point, { ...point, id: 'b' }], { acceptedAt: [now - 2000, now - 1000] });
    expect(calls).toEqual(['upsert c 2']);
    expect(seen.map((s) => [s.metric, s.labels])).toEqual([
      ['upsert', { store: 'qdrant' }],
      ['freshness', { store: 'qdrant' }],
      ['freshness', { store: 'qdrant' }],
    ]);
    expect(seen[1]!.value).toBeGreaterThanOrEqual(2);
    expect(seen[2]!.value).toBeGreaterThanOrEqual(1);
    expect(seen[2]!.value).toBeLessThan(seen[1]!.value!);
    expect(await writer.delete('c', ['a'])).toBe(1);

    // A failing write is not measured.
    const failing = new MeasuredVectorWriter(
      { ...store, kind: 'qdrant', upsert: () => Promise.reject(new Error('down')) },
      metrics,
    );
    await expect(failing.upsert('c', [point], { acceptedAt: [now] })).rejects.toThrow('down');
    expect(seen).toHaveLength(3);
  });
});

describe('EnsureOnceVectorWriter', () => {
  const inner = () => {
    const calls: string[] = [];
    let failNext = false;
    const writer: VectorWriter = {
      kind: 'qdrant',
      ensureCollection: (key) => {
        calls.push(key);
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('store away'));
        }
        return Promise.resolve();
      },
      upsert: () => Promise.resolve(),
      delete: () => Promise.resolve(0),
      close: () => Promise.resolve(),
    };
    return { writer, calls, failOnce: () => (failNext = true) };
  };

  it('asks the store once per key, concurrent calls included', async () => {
    const { writer, calls } = inner();
    const once = new EnsureOnceVectorWriter(writer);
    await Promise.all([once.ensureCollection('a', 4), once.ensureCollection('a', 4)]);
    await once.ensureCollection('a', 4);
    await once.ensureCollection('b', 4);
    expect(calls).toEqual(['a', 'b']);
    expect(once.kind).toBe('qdrant');
  });

  it('asks again after a failure', async () => {
    const { writer, calls, failOnce } = inner();
    const once = new EnsureOnceVectorWriter(writer);
    failOnce();
    await expect(once.ensureCollection('a', 4)).rejects.toThrow('store away');
    await once.ensureCollection('a', 4);
    await once.ensureCollection('a', 4);
    expect(calls).toEqual(['a', 'a']);
  });
});
