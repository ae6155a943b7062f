export { VectorStoreError } from './vector-store';
export type {
  CollectionInfo,
  Payload,
  PayloadValue,
  SearchHit,
  SearchQuery,
  VectorPoint,
  VectorStore,
  VectorStoreErrorCode,
  VectorStoreLog,
} from './vector-store';
export { COLLECTION_KEY_PATTERN, MAX_DIMENSIONS, MAX_ID_LENGTH, MAX_PAYLOAD_KEY_LENGTH } from './validation';
export { EmbeddedVectorStore } from './embedded/embedded-vector-store';
export type {
  EmbeddedVectorStoreOptions,
  RebuildSource,
  RebuiltCollection,
} from './embedded/embedded-vector-store';
export { PgVectorStore } from './pgvector/pg-vector-store';
export type { PgVectorStoreOptions, SqlClient } from './pgvector/pg-vector-store';
export { QdrantVectorStore } from './qdrant/qdrant-vector-store';
export type { QdrantVectorStoreOptions } from './qdrant/qdrant-vector-store';
export { openSharedVectorStore } from './shared-store';
