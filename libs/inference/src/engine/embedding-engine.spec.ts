import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { buildModels } from '../models/build';
import { loadUseLiteTokenizer, buildUseLiteOnnx } from '../use-lite/use-lite-models';
import { UseLiteEmbedder } from '../use-lite/use-lite-embedder';
import { EmbeddingEngine } from './embedding-engine';
import { InferenceOverloadedError } from './errors';

const manifestsDir = path.resolve(__dirname, '../../../../models');

describe('EmbeddingEngine (real ONNX Runtime sessions on worker threads)', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-models-'));
  let engine: EmbeddingEngine;
  const registry = new Registry();

  beforeAll(async () => {
    await buildModels({ manifestsDir, modelsDataDir: dataDir });
    engine = await EmbeddingEngine.start({
      manifestsDir,
      modelsDataDir: dataDir,
      models: ['use-lite@1'],
      sessionsPerModel: 2,
      batching: { maxWaitMs: 2, maxQueuedRows: 64 },
      registry,
    });
  }, 120_000);

  afterAll(async () => {
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('embeds the same vectors as a direct session, whatever the batching', async () => {
    const texts = Array.from(
      { length: 40 },
      (_, i) => `sentence number ${i} about ${i % 3 === 0 ? 'food' : 'horses'}`,
    );
    const direct = await UseLiteEmbedder.create(buildUseLiteOnnx('use-lite@1'), loadUseLiteTokenizer());
    const expected = await direct.embed(texts);
    await direct.release();
    const deadline = Date.now() + 30_000;
    const results = await Promise.all(
      texts.map((t) => engine.embedRows('use-lite@1', engine.tokenize('use-lite@1', [t]).rows, deadline)),
    );
    results.forEach(([vector], i) => {
      const worst = Math.max(...Array.from(vector!, (v, j) => Math.abs(v - expected[i]![j]!)));
      expect(worst).toBeLessThan(1e-5);
    });
  });

  it('cuts inputs at the model limit and says which', () => {
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const t = engine.tokenize('use-lite@1', ['short', long]);
    expect(t.truncated).toEqual([1]);
    expect(t.rows[1]).toHaveLength(128);
  });

  it('tokenizes a batch in one call, a text it cannot tokenize failing alone', () => {
    // No string makes today's tokenizers throw; a Symbol does (it cannot join the model's prefix).
    const bad = Symbol('not text') as unknown as string;
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const each = engine.tokenizeEach('use-lite@1', ['short', bad, long]);
    const alone = engine.tokenize('use-lite@1', ['short', long]);
    expect(each.rows).toEqual([alone.rows[0], undefined, alone.rows[1]]);
    expect(each.errors[0]).toBeUndefined();
    expect(each.errors[1]).toBeInstanceOf(TypeError);
    expect(each.errors[2]).toBeUndefined();
    expect(each.truncated).toEqual([2]);
    expect(each.tokens).toBe(alone.tokens);
    expect(() => engine.tokenize('use-lite@1', ['short', bad])).toThrow(TypeError);
  });

  it('refuses work beyond the queue bound at once', async () => {
    const rows = Array.from({ length: 65 }, () => [74, 337]);
    await expect(engine.embedRows('use-lite@1', rows, Date.now() + 1000)).rejects.toBeInstanceOf(
      InferenceOverloadedError,
    );
  });

  /** The nice values of this process's threads (Linux: the nice value is per thread). */
  const threadNiceness = () =>
    readdirSync(`/proc/${process.pid}/task`).map((tid) =>
      Number(readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]),
    );

  (process.platform === 'linux' ? it : it.skip)(
    'runs background rows on sessions of their own, at the lowest priority, with the same vectors',
    async () => {
      const texts = ['background work', 'a live request', 'another sentence'];
      const { rows } = engine.tokenize('use-lite@1', texts);
      const before = threadNiceness().filter((n) => n === 19).length;
      const background = await engine.embedRows(
        'use-lite@1',
        rows,
        Date.now() + 30_000,
        undefined,
        'background',
      );
      const live = await engine.embedRows('use-lite@1', rows, Date.now() + 30_000);
      // Two sessions per model: two more threads at nice 19, every other thread as it was.
      expect(threadNiceness().filter((n) => n === 19).length - before).toBe(2);
      expect(threadNiceness().filter((n) => n !== 0 && n !== 19)).toEqual([]);
      background.forEach((vector, i) => {
        const worst = Math.max(...Array.from(vector, (v, j) => Math.abs(v - live[i]![j]!)));
        expect(worst).toBeLessThan(1e-6);
      });
    },
  );

  it('answers live rows while a backlog of background rows is still being computed', async () => {
    const wide = await EmbeddingEngine.start({
      manifestsDir,
      modelsDataDir: dataDir,
      models: ['use-lite@1'],
      sessionsPerModel: 2,
      batching: { maxWaitMs: 2, maxQueuedRows: 8192 },
    });
    try {
      const backlog = engine.tokenize(
        'use-lite@1',
        Array.from({ length: 1024 }, (_, i) => `stored input ${i}`),
      ).rows;
      expect(Math.max(...backlog.map((r) => r.length))).toBeLessThan(20);
      const deadline = Date.now() + 120_000;
      let backgroundDone = false;
      const background = wide
        .embedRows('use-lite@1', backlog, deadline, undefined, 'background')
        .then(() => (backgroundDone = true));
      // The background lane is up and computing before the live row arrives.
      const started = () => {
        const depth = wide.queueDepth('use-lite@1');
        return depth > 0 && depth <= backlog.length - 64;
      };
      while (!started()) await new Promise((resolve) => setTimeout(resolve, 5));
      // Longer than every backlog row: in one length-ordered queue it would come last.
      const live = engine.tokenize('use-lite@1', [
        'a live request that is much longer than any of the stored inputs in the backlog before it',
      ]).rows;
      const [vector] = await wide.embedRows('use-lite@1', live, deadline);
      expect(vector).toHaveLength(wide.model('use-lite@1')!.dimensions);
      expect(backgroundDone).toBe(false);
      expect(wide.queueDepth('use-lite@1')).toBeGreaterThan(backlog.length / 4);
      await background;
    } finally {
      await wide.close();
    }
  }, 120_000);

  it('reports per-phase metrics', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/tributary_inference_duration_seconds_count\{model="use-lite@1"\} \d+/);
    expect(text).toMatch(/tributary_inference_batch_size_count\{model="use-lite@1"\} \d+/);
    expect(text).toContain('tributary_inference_queue_depth{model="use-lite@1"} 0');
  });

  it('refuses to load artifacts whose checksum differs from the manifest', async () => {
    const tampered = mkdtempSync(path.join(tmpdir(), 'tributary-tampered-'));
    try {
      await buildModels({ manifestsDir, modelsDataDir: tampered });
      writeFileSync(path.join(tampered, 'use-lite', '1', 'vocab.json'), '[]');
      await expect(
        EmbeddingEngine.start({ manifestsDir, modelsDataDir: tampered, models: ['use-lite@1'] }),
      ).rejects.toThrow(
        /vocab\.json has sha256 [0-9a-f]{64} but the manifest pins [0-9a-f]{64}; refusing to load it/,
      );
    } finally {
      rmSync(tampered, { recursive: true, force: true });
    }
  }, 60_000);
});
