import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { sha256File } from '../models/artifacts';
import type { ModelManifest } from '../models/manifest';

const { DataType } = onnx.TensorProto;

/** A made-up WordPiece vocabulary, in Hugging Face tokenizer.json form (BERT normaliser and template). */
export const TINY_VOCAB: Record<string, number> = {
  '[PAD]': 0,
  '[UNK]': 1,
  '[CLS]': 2,
  '[SEP]': 3,
  the: 4,
  cat: 5,
  sat: 6,
  on: 7,
  mat: 8,
  query: 9,
  ':': 10,
  passage: 11,
  dog: 12,
  '##s': 13,
  run: 14,
  '##ning': 15,
};

export function tinyTokenizerJson(): object {
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('[PAD]', 0), special('[UNK]', 1), special('[CLS]', 2), special('[SEP]', 3)],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: TINY_VOCAB,
    },
  };
}

/** Deterministic pseudo-random weights (a linear congruential generator). */
function weights(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 32 - 0.5;
  }
  return out;
}

export interface TinyBert {
  hidden: number;
  maxPositions: number;
  word: Float32Array;
  type: Float32Array;
  position: Float32Array;
  dense: Float32Array;
}

/** The weights of a BERT-shaped toy: h = tanh((word[ids] + type[tti] + position[p]) · dense). */
export function tinyBertWeights(hidden = 8, maxPositions = 32): TinyBert {
  const vocab = Object.keys(TINY_VOCAB).length;
  return {
    hidden,
    maxPositions,
    word: weights(vocab * hidden, 1),
    type: weights(2 * hidden, 2),
    position: weights(maxPositions * hidden, 3),
    dense: weights(hidden * hidden, 4),
  };
}

/** The toy's hidden states for one row, computed in plain JavaScript (the test's expectation). */
export function tinyBertHidden(model: TinyBert, ids: readonly number[]): Float32Array[] {
  const h = model.hidden;
  return ids.map((id, p) => {
    const x = new Float32Array(h);
    for (let k = 0; k < h; k++) x[k] = model.word[id * h + k]! + model.type[k]! + model.position[p * h + k]!;
    const y = new Float32Array(h);
    for (let j = 0; j < h; j++) {
      let s = 0;
      for (let k = 0; k < h; k++) s += x[k]! * model.dense[k * h + j]!;
      y[j] = Math.tanh(s);
    }
    return y;
  });
}

/** The same toy as an ONNX graph with BERT's inputs and output, built with onnx-proto. */
export function tinyBertOnnx(model: TinyBert): Uint8Array {
  const vocab = Object.keys(TINY_VOCAB).length;
  const h = model.hidden;
  const init = (name: string, dims: number[], data: Float32Array | BigInt64Array, type = DataType.FLOAT) => ({
    name,
    dims,
    dataType: type,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
  const i64 = (name: string, values: number[]) =>
    init(name, [values.length], BigInt64Array.from(values.map(BigInt)), DataType.INT64);
  const node = (
    opType: string,
    input: string[],
    output: string[],
    attribute: onnx.IAttributeProto[] = [],
  ) => ({ opType, input, output, attribute, name: output[0] });
  const io = (name: string, elemType: number, dims: string[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimParam: d })) } } },
  });
  const graph: onnx.IGraphProto = {
    name: 'tiny-bert',
    input: [
      io('input_ids', DataType.INT64, ['b', 'l']),
      io('attention_mask', DataType.INT64, ['b', 'l']),
      io('token_type_ids', DataType.INT64, ['b', 'l']),
    ],
    output: [io('last_hidden_state', DataType.FLOAT, ['b', 'l', 'h'])],
    initializer: [
      init('word', [vocab, h], model.word),
      init('type', [2, h], model.type),
      init('position', [model.maxPositions, h], model.position),
      init('dense', [h, h], model.dense),
      i64('zero', [0]),
      i64('one', [1]),
      i64('two', [2]),
    ],
    node: [
      node('Gather', ['word', 'input_ids'], ['w']),
      node('Gather', ['type', 'token_type_ids'], ['t']),
      node('Shape', ['input_ids'], ['shape']),
      node('Slice', ['shape', 'one', 'two'], ['len1']),
      node('Squeeze', ['len1', 'zero'], ['len']),
      node('Squeeze', ['zero', 'zero'], ['start']),
      node('Squeeze', ['one', 'zero'], ['step']),
      node('Range', ['start', 'len', 'step'], ['positions']),
      node('Gather', ['position', 'positions'], ['p']),
      node('Add', ['w', 't'], ['wt']),
      node('Add', ['wt', 'p'], ['x']),
      node('MatMul', ['x', 'dense'], ['xd']),
      node('Tanh', ['xd'], ['last_hidden_state']),
    ],
  };
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 18 }],
      producerName: 'tributary-test',
      graph,
    }),
  ).finish();
}

/**
 * Writes the toy's artifacts under `modelsDataDir/<name>/1/` and a manifest pinning them under
 * `manifestsDir/<name>/1/`, the way a hub model is laid out once fetched.
 */
export async function writeTinyBert(
  manifestsDir: string,
  modelsDataDir: string,
  name: string,
  options: { pooling: 'mean' | 'cls'; maxTokens?: number; prefixes?: { query: string; passage: string } },
  model = tinyBertWeights(),
): Promise<ModelManifest> {
  const dir = path.join(modelsDataDir, name, '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), tinyBertOnnx(model));
  writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  const manifest: ModelManifest = {
    name,
    version: '1',
    created: '2026-11-25T00:00:00Z',
    description: 'BERT-shaped toy with random weights, built by the tests',
    license: 'Apache-2.0',
    source: { kind: 'huggingface', repo: 'tributary/tiny-bert', revision: '0'.repeat(40) },
    dimensions: model.hidden,
    maxTokens: options.maxTokens ?? 16,
    tokenizer: { kind: 'wordpiece', file: 'tokenizer.json' },
    pooling: options.pooling,
    normalize: 'l2',
    ...(options.prefixes ? { prefixes: options.prefixes } : {}),
    quantization: 'none',
    artifacts: [
      {
        file: 'model.onnx',
        remotePath: 'onnx/model.onnx',
        sha256: await sha256File(path.join(dir, 'model.onnx')),
      },
      {
        file: 'tokenizer.json',
        remotePath: 'tokenizer.json',
        sha256: await sha256File(path.join(dir, 'tokenizer.json')),
      },
    ],
  };
  mkdirSync(path.join(manifestsDir, name, '1'), { recursive: true });
  writeFileSync(path.join(manifestsDir, name, '1', 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
