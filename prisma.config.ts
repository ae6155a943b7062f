// Prisma CLI configuration: the JavaScript schema engine over our own pg driver adapter, so every
// command (migrate deploy, migrate diff, generate) runs offline, against PostgreSQL or embedded PGlite.
import path from 'node:path';
import type { PrismaConfig } from 'prisma';
import { createPgAdapter } from './libs/db/src/pg-adapter';

export default {
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  experimental: { adapter: true },
  engine: 'js',
  adapter: () => {
    const url = process.env['DATABASE_URL'];
    if (!url) {
      throw new Error(
        'DATABASE_URL is not set. Run `npm run db:migrate` (it starts the embedded database when DATABASE_URL is unset) or set DATABASE_URL.',
      );
    }
    return Promise.resolve(createPgAdapter(url, { poolSize: 2, allowExitOnIdle: true }));
  },
} satisfies PrismaConfig;
