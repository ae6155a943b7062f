import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EmbeddingEngine } from '../engine/embedding-engine';
import { tinyBertHidden, tinyBertWeights, writeTinyBert } from '../testing/tiny-bert';

function normalize(v: Float32Array): Float32Array {
  const n = Math.hypot(...Array.from(v));
  return v.map((x) => x / n);
}

function meanPool(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows[0]!.length);
  for (const r of rows) r.forEach((x, k) => (out[k]! += x / rows.length));
  return normalize(out);
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

describe('BERT path: WordPiece (Hugging Face tokenizers) + ONNX Runtime + pooling, on a toy BERT built here', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'tributary-bert-'));
  const manifestsDir = path.join(root, 'manifests');
  const modelsDataDir = path.join(root, 'models');
  const weights = tinyBertWeights();
  let engine: EmbeddingEngine;

  beforeAll(async () => {
    await writeTinyBert(manifestsDir, modelsDataDir, 'tiny-mean', { pooling: 'mean' }, weights);
    await writeTinyBert(manifestsDir, modelsDataDir, 'tiny-cls', { pooling: 'cls' }, weights);
    await writeTinyBert(
      manifestsDir,
      modelsDataDir,
      'tiny-e5',
      { pooling: 'mean', prefixes: { query: 'query: ', passage: 'passage: ' } },
      weights,
    );
    engine = await EmbeddingEngine.start({
      manifestsDir,
      modelsDataDir,
      models: ['tiny-mean@1', 'tiny-cls@1', 'tiny-e5@1'],
    });
  }, 60_000);

  afterAll(async () => {
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  });

  const embed = async (model: string, texts: string[], inputType: 'query' | 'passage' = 'passage') =>
    engine.embedRows(model, engine.tokenize(model, texts, inputType).rows, Date.now() + 10_000);

  it('tokenizes with the model tokenizer.json: lower-casing, WordPiece pieces, [CLS] … [SEP]', () => {
    expect(engine.tokenize('tiny-mean@1', ['The cat sat']).rows[0]).toEqual([2, 4, 5, 6, 3]);
    expect(engine.tokenize('tiny-mean@1', ['dogs running']).rows[0]).toEqual([2, 12, 13, 14, 15, 3]);
    expect(engine.tokenize('tiny-mean@1', ['zebra']).rows[0]).toEqual([2, 1, 3]);
  });

  it('mean-pools over real tokens only (padding is masked) and normalises', async () => {
    const [alone] = await embed('tiny-mean@1', ['the cat sat']);
    const [, padded] = await embed('tiny-mean@1', ['the cat sat on the mat the dog', 'the cat sat']);
    const expected = meanPool(tinyBertHidden(weights, [2, 4, 5, 6, 3]));
    expect(maxDiff(alone!, expected)).toBeLessThan(1e-5);
    expect(maxDiff(padded!, expected)).toBeLessThan(1e-5);
  });

  it('CLS-pools (bge style) from the first position', async () => {
    const [v] = await embed('tiny-cls@1', ['the cat sat']);
    expect(maxDiff(v!, normalize(tinyBertHidden(weights, [2, 4, 5, 6, 3])[0]!))).toBeLessThan(1e-5);
  });

  it('applies e5 query/passage prefixes', async () => {
    expect(engine.tokenize('tiny-e5@1', ['cat'], 'query').rows[0]).toEqual([2, 9, 10, 5, 3]);
    expect(engine.tokenize('tiny-e5@1', ['cat'], 'passage').rows[0]).toEqual([2, 11, 10, 5, 3]);
    const [q] = await embed('tiny-e5@1', ['cat'], 'query');
    expect(maxDiff(q!, meanPool(tinyBertHidden(weights, [2, 9, 10, 5, 3])))).toBeLessThan(1e-5);
  });

  it('truncates at the token limit, keeping [SEP], and reports it', () => {
    const long = Array.from({ length: 30 }, () => 'cat').join(' ');
    const t = engine.tokenize('tiny-mean@1', [long]);
    expect(t.truncated).toEqual([0]);
    expect(t.rows[0]).toHaveLength(16);
    expect(t.rows[0]![15]).toBe(3);
  });
});
