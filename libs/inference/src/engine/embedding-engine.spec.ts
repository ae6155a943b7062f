import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
