export { CachedEmbedder, EmbedInputError } from './cached-embedder';
export type {
  CachedEmbedderOptions,
  EmbedEngine,
  EmbedInputFailure,
  EmbedRequest,
  EmbedResult,
} from './cached-embedder';
export { EmbeddingCache } from './embedding-cache';
export type { CacheInput, EmbeddingCacheOptions, EmbeddingCacheScope } from './embedding-cache';
export { decodeVector, encodeVector, fromFloat16, toFloat16 } from './vector-codec';
export type { VectorFormat } from './vector-codec';
