import type { PrismaClient } from './generated/prisma/client';

/** Raw SQL over Prisma's connection pool, in the `{ query(text, params) → { rows } }` shape `pg` has. */
export function prismaSqlClient(prisma: PrismaClient) {
  return {
    async query<R = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<{ rows: R[] }> {
      return { rows: await prisma.$queryRawUnsafe<R[]>(text, ...params) };
    },
  };
}
