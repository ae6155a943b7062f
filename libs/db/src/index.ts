export { DbModule } from './db.module';
export { createPrismaClient, DatabaseNotConfiguredError, PrismaService } from './prisma.service';
export { createPgAdapter, createPgPool } from './pg-adapter';
export { startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { isRecordNotFound, isUniqueViolation } from './unique-violation';
export type { AdminCredential, ApiKey, Tenant } from './generated/prisma/client';
export { runMigrations } from './migrate';
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
