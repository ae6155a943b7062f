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
export type { AdminCredential, ApiKey, Tenant } from './generated/prisma/client';
export { runMigrations } from './migrate';
export type { MigrationOptions } from './migrate';
export { SecretBox, SecretDecryptError } from './secret-box';
export { encryptStoredSecrets, webhookSecretContext } from './stored-secrets';
export type { StoredSecretsReport } from './stored-secrets';
export { ItemStore } from './item-store';
export type {
  EmbeddedItem,
  ItemJob,
  NewItem,
  PendingItem,
  QueuedItem,
  StoredVector,
  WrittenItem,
} from './item-store';
export type { Collection, Item, Stream } from './generated/prisma/client';
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
