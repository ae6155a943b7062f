export { DbModule } from './db.module';
export { createPrismaClient, DatabaseNotConfiguredError, PrismaService } from './prisma.service';
export { createPgAdapter } from './pg-adapter';
export { startEmbeddedPostgres } from './embedded-postgres';
export type { EmbeddedPostgres, EmbeddedPostgresOptions } from './embedded-postgres';
export { isRecordNotFound, isUniqueViolation } from './unique-violation';
export type { AdminCredential, ApiKey, Tenant } from './generated/prisma/client';
export { runMigrations } from './migrate';
