import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { PrismaClient } from './generated/prisma/client';
import { createPgAdapter, createPgPool } from './pg-adapter';
import { poolSqlClient, type TransactionalSqlClient } from './sql-client';

/** Thrown at boot when no database is configured. */
export class DatabaseNotConfiguredError extends Error {
  constructor() {
    super(
      'DATABASE_URL is not set. Start the platform with `npm run up` (it runs the embedded PGlite database and sets it), or set DATABASE_URL to a PostgreSQL server.',
    );
    this.name = 'DatabaseNotConfiguredError';
  }
}

/** Creates a Prisma client over our pg driver adapter. */
export function createPrismaClient(url: string, poolSize = 10): PrismaClient {
  const logger = new Logger('Database');
  return new PrismaClient({
    adapter: createPgAdapter(url, {
      poolSize,
      onPoolError: (err) => logger.warn(`idle database connection failed: ${err.message}`),
    }),
  });
}

/**
 * The process-wide Prisma client, and raw SQL over the same pool ({@link PrismaService.sql}) for the
 * set-based statements of the hot paths. Only the repositories use them, besides the health check's
 * ping and the pgvector store (over `sql`).
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleDestroy {
  readonly sql: TransactionalSqlClient;

  constructor(@Inject(CONFIG) config: Config) {
    if (!config.DATABASE_URL) throw new DatabaseNotConfiguredError();
    const logger = new Logger('Database');
    const pool = createPgPool(config.DATABASE_URL, {
      poolSize: config.DATABASE_POOL_SIZE,
      onPoolError: (err) => logger.warn(`idle database connection failed: ${err.message}`),
    });
    super({ adapter: createPgAdapter(pool) });
    this.sql = poolSqlClient(pool);
  }

  /** True when the database answers a trivial query. */
  async ping(): Promise<void> {
    await this.$queryRaw`SELECT 1`;
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }
}
