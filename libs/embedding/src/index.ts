export { EmbeddingCacheStore } from './embedding-cache-store';
export type { CacheInput, EmbeddingCacheOptions, EmbeddingCacheScope } from './embedding-cache-store';
export { decodeVector, encodeVector, fromFloat16, toFloat16 } from './vector-codec';
export type { VectorFormat } from './vector-codec';
