export { convertTfjsToOnnx } from './convert/tfjs-to-onnx';
export type { ConvertOptions } from './convert/tfjs-to-onnx';
export { readTfjsGraph } from './convert/tfjs-graph';
export type { TfjsGraph } from './convert/tfjs-graph';
export { UnigramTokenizer } from './tokenizers/unigram-tokenizer';
export type { VocabEntry } from './tokenizers/unigram-tokenizer';
export { toSparseBatch } from './use-lite/sparse-batch';
export type { SparseBatch } from './use-lite/sparse-batch';
export { useLitePackageDir, useLiteSignature } from './use-lite/use-lite-source';
export { UseLiteEmbedder, USE_LITE_DIMENSIONS } from './use-lite/use-lite-embedder';
export { averageRanks, cosineSimilarity, pearson, spearman } from './eval/correlation';
export { evaluateSts, readStsPairs } from './eval/sts';
export type { StsPair, StsResult } from './eval/sts';
export { quantizeColumns } from './convert/tfjs-to-onnx';
export { buildUseLiteOnnx, loadUseLiteTokenizer, useLiteVersions } from './use-lite/use-lite-models';
export type { UseLiteVersion } from './use-lite/use-lite-models';
export { modelId, modelManifestSchema, readManifests, unpinnedReason } from './models/manifest';
export type { ModelManifest } from './models/manifest';
export {
  artifactDir,
  artifactStatus,
  ModelArtifactError,
  sha256File,
  verifyArtifacts,
} from './models/artifacts';
export { buildModels } from './models/build';
export type { BuildOptions } from './models/build';
export { EmbeddingEngine } from './engine/embedding-engine';
export type {
  EngineOptions,
  InferencePriority,
  ModelInfo,
  Tokenized,
  TokenizedEach,
} from './engine/embedding-engine';
export { DynamicBatcher } from './engine/dynamic-batcher';
export type { BatcherOptions, BatchStats } from './engine/dynamic-batcher';
export { SessionPool } from './engine/session-pool';
export type { Feed, PoolOutput, SessionPoolOptions } from './engine/session-pool';
export { InferenceDeadlineError, InferenceOverloadedError } from './engine/errors';
export { createModelRuntime } from './engine/model-runtime';
export type { InputType, ModelRuntime } from './engine/model-runtime';
export { WordPieceTokenizer } from './bert/wordpiece-tokenizer';
export { prepareBertBatch } from './bert/bert-runtime';
export { fetchHubModel, pinHubModel } from './models/fetch';
export type { FetchOptions } from './models/fetch';
export { engineOptionsFromConfig } from './engine/engine-config';
export type { InferenceWorkload } from './engine/engine-config';
