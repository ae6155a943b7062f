import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';
import { createPrismaClient } from './prisma.service';

describe('embedded PostgreSQL (PGlite over the wire protocol)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-pglite-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates, serves Prisma and pg clients concurrently, keeps data across restarts, and has pgvector', async () => {
    const first = await startEmbeddedPostgres({ dataDir: dir });
    try {
      await runMigrations(first.url);
      const prisma = createPrismaClient(first.url, 4);
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          prisma.tenant.create({ data: { name: `t${i}`, rateLimitPerSecond: 1, rateLimitBurst: 1 } }),
        ),
      );
      // A transaction on one connection is not interleaved with another connection's statements.
      await prisma.$transaction(async (tx) => {
        await tx.tenant.update({ where: { name: 't0' }, data: { rateLimitBurst: 5 } });
        await tx.tenant.update({ where: { name: 't1' }, data: { rateLimitBurst: 5 } });
      });
      expect(await prisma.tenant.count({ where: { rateLimitBurst: 5 } })).toBe(2);
      await prisma.$disconnect();

      const client = new pg.Client({ connectionString: first.url });
      await client.connect();
      const distance = await client.query<{ d: number }>("SELECT '[1,0]'::vector <=> '[0,1]'::vector AS d");
      expect(Number(distance.rows[0]?.d)).toBeCloseTo(1, 6);
      await client.end();

      await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(/already open in process/);
    } finally {
      await first.stop();
    }

    const second = await startEmbeddedPostgres({ dataDir: dir });
    try {
      const prisma = createPrismaClient(second.url, 1);
      expect(await prisma.tenant.count()).toBe(8);
      await prisma.$disconnect();
    } finally {
      await second.stop();
    }
  }, 120_000);
});
