export { DbModule } from './db.module';
export { createPrismaClient, DatabaseNotConfiguredError, PrismaService } from './prisma.service';
export { createPgAdapter, createPgPool } from './pg-adapter';
export { openEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { findPostgresBinaries, serverUser, systemPostgresBinDir, userCan } from './postgres-binaries';
export type { PostgresBinaries, ServerUser } from './postgres-binaries';
export { importPgliteData } from './pglite-import';
export { startPgliteSocketServer } from './pglite-socket-server';
export type { PgliteSocketServer } from './pglite-socket-server';
export { isDataException, isRecordNotFound, isUniqueViolation } from './unique-violation';
export type {
  AdminCredential,
  ApiKey,
  DriftReport,
  SelfCheckReport,
  Tenant,
} from './generated/prisma/client';
export { runMigrations } from './migrate';
export type { MigrationOptions } from './migrate';
export { SecretBox, SecretDecryptError } from './secret-box';
export { encryptStoredSecrets, webhookSecretContext } from './stored-secrets';
export type { StoredSecretsReport } from './stored-secrets';
export { AdminCredentialRepository } from './repositories/admin-credential.repository';
export { ApiKeyRepository } from './repositories/api-key.repository';
export type { NewApiKey } from './repositories/api-key.repository';
export { ApiKeyUsageRepository } from './repositories/api-key-usage.repository';
export { CollectionRepository } from './repositories/collection.repository';
export type {
  CollectionVersion,
  CollectionVersions,
  LiveVersion,
  RoutedCollection,
  SearchCandidate,
  StoredVector,
} from './repositories/collection.repository';
export { ItemEmbeddingRepository } from './repositories/item-embedding.repository';
export type { EmbeddedItem, WrittenItem } from './repositories/item-embedding.repository';
export { ItemFailureRepository } from './repositories/item-failure.repository';
export type { FailedItem } from './repositories/item-failure.repository';
export { ItemIngestRepository } from './repositories/item-ingest.repository';
export type { NewItem, PendingItem } from './repositories/item-ingest.repository';
export { ItemQueueRepository } from './repositories/item-queue.repository';
export type { ItemJob, QueuedItem, StreamWithLag } from './repositories/item-queue.repository';
export { ItemVectorRepository } from './repositories/item-vector.repository';
export { SpaceRepository, spaceStoreKey } from './repositories/space.repository';
export type {
  DerivedSpace,
  DerivedWrite,
  GroupMember,
  Membership,
  SpaceRef,
  SpaceVersion,
} from './repositories/space.repository';
export type {
  AfterVersionWrite,
  MissingVersionVector,
  VersionVector,
} from './repositories/item-vector.repository';
export { RolloutRepository } from './repositories/rollout.repository';
export { AuditRepository } from './repositories/audit.repository';
export type { Actor, AuditEntry } from './repositories/audit.repository';
export type { BackfillInput, CutoverResult, RolloutWithCollection } from './repositories/rollout.repository';
export { StreamRepository } from './repositories/stream.repository';
export {
  WatchRepository,
  type DriftReportOutcome,
  type DriftReportRequest,
  type EventWindow,
  type SavedTopicState,
  type SelfCheckOutcome,
  type StoredInput,
  type TopicCursor,
  type WatchedCollection,
} from './repositories/watch.repository';
export { servingPointsVersion } from './repositories/stream.repository';
export type { StreamWithCollection } from './repositories/stream.repository';
export { TenantRepository } from './repositories/tenant.repository';
export type {
  Collection,
  CollectionVersion as CollectionVersionRow,
  Item,
  Rollout,
  Stream,
} from './generated/prisma/client';
export { poolSqlClient } from './sql-client';
export type { SqlClient, TransactionalSqlClient } from './sql-client';
export { createLegacyPgliteData } from './testing/legacy-pglite';
export type { LegacyPgliteData } from './testing/legacy-pglite';
export {
  createTestDatabase,
  prepareTemplateDatabase,
  TEMPLATE_DATABASE,
  testServerUrl,
} from './testing/test-database';
export type { TestDatabase } from './testing/test-database';
