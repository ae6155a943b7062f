import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma.service';
import type { SqlClient, TransactionalSqlClient } from '../sql-client';

/**
 * What the repositories of the hot paths share: raw SQL over the pool Prisma's adapter uses too
 * ({@link PrismaService.sql}), set-based, so a request of 1,000 items is a handful of statements.
 */
@Injectable()
export abstract class SqlRepository {
  protected readonly sql: TransactionalSqlClient;

  constructor(prisma: PrismaService) {
    this.sql = prisma.sql;
  }

  protected async rows<R>(text: string, params: unknown[], db: SqlClient = this.sql): Promise<R[]> {
    return (await db.query<R>(text, params)).rows;
  }
}
