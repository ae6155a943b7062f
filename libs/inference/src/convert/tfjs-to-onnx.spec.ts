import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { cosineSimilarity } from '../eval/correlation';
import { askUseLiteOracle } from '../testing/use-lite-oracle';
import { UnigramTokenizer, type VocabEntry } from '../tokenizers/unigram-tokenizer';
import { toSparseBatch } from '../use-lite/sparse-batch';
import { useLitePackageDir, useLiteSignature } from '../use-lite/use-lite-source';
import { readTfjsGraph } from './tfjs-graph';
import { convertTfjsToOnnx } from './tfjs-to-onnx';

const sentences = [
  'A man is eating food.',
  'A man is eating a piece of bread.',
  'A man is riding a horse.',
  'The girl is carrying a baby.',
  'A woman is playing violin.',
  'Two men pushed carts through the woods.',
  'A man is riding a white horse on an enclosed ground.',
  'A monkey is playing drums.',
  'Someone in a gorilla costume is playing a set of drums.',
  'A cat is playing a piano.',
  'The stock market fell sharply on Tuesday after the announcement.',
  'héllo wörld, ça va? naïve café',
  'emoji 😀🎉 in a tweet #blessed',
  '日本語のテキスト',
  'short',
  'Breaking: heavy rain expected across the north tonight, travel disruption likely.',
  'Can you reset my password please? I have been locked out since yesterday.',
  'The quick brown fox jumps over the lazy dog.',
  'I love this new phone, the battery lasts forever!',
  'Terrible service, waited an hour and nobody came.',
  'Quantum computers use qubits that can be in superposition.',
  Array.from({ length: 60 }, (_, i) => `token${i % 11}`).join(' '),
];

describe('TF.js → ONNX conversion of use-lite (golden, against the publisher pipeline)', () => {
  let session: ort.InferenceSession;
  let tokenizer: UnigramTokenizer;
  let reference: number[][];

  beforeAll(async () => {
    const dir = useLitePackageDir();
    const bytes = convertTfjsToOnnx(readTfjsGraph(path.join(dir, 'model.json')), {
      ...useLiteSignature,
      producer: { name: 'tributary-test', version: '0' },
    });
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tokenizer = new UnigramTokenizer(require(path.join(dir, 'vocab.json')) as VocabEntry[]);
    reference = (await askUseLiteOracle(sentences, true)).embeddings!;
  }, 60_000);

  afterAll(() => session.release());

  async function embed(texts: string[]): Promise<Float32Array[]> {
    const batch = toSparseBatch(texts.map((t) => tokenizer.encode(t)));
    const out = await session.run({
      indices: new ort.Tensor('int64', batch.indices, [batch.count, 2]),
      values: new ort.Tensor('int64', batch.values, [batch.count]),
    });
    const data = out['embeddings']!.data as Float32Array;
    return texts.map((_, i) => data.slice(i * 512, (i + 1) * 512));
  }

  it('matches the TF.js embeddings within 1e-5 on every sentence', async () => {
    const ours = await embed(sentences);
    expect(ours).toHaveLength(reference.length);
    ours.forEach((vector, i) => {
      const worst = Math.max(...Array.from(vector, (v, j) => Math.abs(v - reference[i]![j]!)));
      expect({ sentence: sentences[i], worst: worst < 1e-5 }).toEqual({
        sentence: sentences[i],
        worst: true,
      });
    });
  });

  it('reproduces the reference similarities', async () => {
    const [food, bread, horse] = await embed(sentences.slice(0, 3));
    expect(cosineSimilarity(food!, bread!)).toBeCloseTo(0.7628, 3);
    expect(cosineSimilarity(food!, horse!)).toBeCloseTo(0.4671, 3);
  });

  it('gives the same vector for a sentence alone or inside a batch', async () => {
    const [alone] = await embed([sentences[5]!]);
    const batched = (await embed(sentences.slice(0, 8)))[5]!;
    expect(Math.max(...Array.from(alone!, (v, j) => Math.abs(v - batched[j]!)))).toBeLessThan(1e-5);
  });

  it('outputs unit vectors', async () => {
    for (const v of await embed(sentences.slice(0, 4))) {
      expect(Math.hypot(...Array.from(v))).toBeCloseTo(1, 5);
    }
  });
});
