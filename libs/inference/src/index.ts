export { convertTfjsToOnnx } from './convert/tfjs-to-onnx';
export type { ConvertOptions } from './convert/tfjs-to-onnx';
export { readTfjsGraph } from './convert/tfjs-graph';
export type { TfjsGraph } from './convert/tfjs-graph';
export { UnigramTokenizer } from './tokenizers/unigram-tokenizer';
export type { VocabEntry } from './tokenizers/unigram-tokenizer';
export { toSparseBatch } from './use-lite/sparse-batch';
export type { SparseBatch } from './use-lite/sparse-batch';
export { useLitePackageDir, useLiteSignature } from './use-lite/use-lite-source';
