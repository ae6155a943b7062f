export { VectorStoreError } from './vector-store';
export type {
  CollectionInfo,
  CollectionVersions,
  IndexMetrics,
  Payload,
  PayloadValue,
  SearchHit,
  SearchQuery,
  VectorPoint,
  VectorStore,
  VectorStoreErrorCode,
  VectorStoreLog,
  VectorWriter,
  WriteContext,
} from './vector-store';
export { COLLECTION_KEY_PATTERN, MAX_DIMENSIONS, MAX_ID_LENGTH, MAX_PAYLOAD_KEY_LENGTH } from './validation';
export { EMBEDDED_SEARCH_TUNING, EmbeddedVectorStore } from './embedded/embedded-vector-store';
export { int8CosineRanker } from './embedded/int8-ranker';
export { ThreadedEmbeddedVectorStore } from './embedded/threaded-embedded-vector-store';
export type {
  EmbeddedStore,
  EmbeddedVectorStoreOptions,
  RebuildSource,
  RebuiltCollection,
} from './embedded/embedded-vector-store';
export { PgVectorStore } from './pgvector/pg-vector-store';
export type { PgVectorStoreOptions, SqlClient } from './pgvector/pg-vector-store';
export { QdrantVectorStore } from './qdrant/qdrant-vector-store';
export type { QdrantVectorStoreOptions } from './qdrant/qdrant-vector-store';
export { openSharedVectorStore } from './shared-store';
export { EnsureOnceVectorWriter, openVectorWriter } from './vector-writer';
export type { VectorWriterDeps } from './vector-writer';
export { DEFAULT_SEARCH_TUNING, HNSW_ONLY_SEARCH_TUNING, planSearch } from './search-plan';
export type { SearchPlan, SearchTuning } from './search-plan';
export { cosine, duplicateHeavyVectors, randomVectors } from './testing/vectors';
export { startFakeQdrantServer } from './testing/fake-qdrant-server';
export { maxLoopDelayDuring } from './testing/loop-delay';
export {
  appendIndexOp,
  decodeIndexOp,
  fromPayload,
  groupFromPayload,
  indexOpHeader,
  itemPayload,
  metadataFilter,
} from './index-log/index-log';
export type { IndexOp, IndexPayload, IndexPoint } from './index-log/index-log';
export { IndexLogWriter } from './index-log/index-log.writer';
export type { IndexLogWriterOptions } from './index-log/index-log.writer';
export { compareStreamIds, IndexLogConsumer } from './index-log/index-log.consumer';
export type {
  IndexLogConsumerOptions,
  IndexLogLogger,
  IndexRebuildReason,
} from './index-log/index-log.consumer';
