import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { runMigrations } from '../migrate';
import { startPgliteSocketServer } from '../pglite-socket-server';

export interface LegacyPgliteData {
  tenantId: string;
  tenantName: string;
  /** A live tenant key (its hash is stored). */
  apiKey: string;
  streamId: string;
  /** Also the collection's name. */
  streamName: string;
  /** Embedded items: id → text and unit vector. */
  items: { id: string; text: string; vector: number[]; metadata: Record<string, string> }[];
}

function unitVector(seed: number, dimensions = 512): number[] {
  const v = Array.from(
    { length: dimensions },
    (_, i) => Math.sin(seed * 97.13 + i * 1.7) + (i % (seed + 2)) * 0.01,
  );
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/**
 * A PGlite database like the ones earlier versions' `npm run up` kept in `DATA_DIR/pglite`: the real
 * migrations, applied by `prisma migrate deploy` over PGlite's socket server, then a tenant with a
 * key, a stream with its collection and three embedded items (vectors as float32 bytes, metadata).
 */
export async function createLegacyPgliteData(pgliteDir: string): Promise<LegacyPgliteData> {
  // The Prisma CLI opens two connections and uses them one after the other.
  const server = await startPgliteSocketServer({
    dataDir: path.join(pgliteDir, 'pgdata'),
    maxConnections: 2,
  });
  try {
    await runMigrations(server.url);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const tenantName = `legacy-${randomBytes(4).toString('hex')}`;
      const apiKey = `trb_${randomBytes(32).toString('base64url')}`;
      const tenant = await client.query<{ id: string }>(
        `INSERT INTO tenant (id, name, rate_limit_per_second, rate_limit_burst, updated_at)
         VALUES (gen_random_uuid(), $1, 100000, 100000, now()) RETURNING id`,
        [tenantName],
      );
      const tenantId = tenant.rows[0]!.id;
      await client.query(
        `INSERT INTO api_key (id, tenant_id, name, prefix, hash) VALUES (gen_random_uuid(), $1, 'legacy', $2, $3)`,
        [tenantId, apiKey.slice(0, 12), createHash('sha256').update(apiKey).digest('hex')],
      );
      const streamName = 'legacy-notes';
      const storeKey = `t-${tenantId}--${streamName}--use-lite-1`;
      const collection = await client.query<{ id: string }>(
        `INSERT INTO collection (id, tenant_id, name, model, dimensions, store_key)
         VALUES (gen_random_uuid(), $1, $2, 'use-lite@1', 512, $3) RETURNING id`,
        [tenantId, streamName, storeKey],
      );
      await client.query(
        `INSERT INTO collection_version (id, collection_id, tenant_id, model, dimensions, store_key, version)
         VALUES (gen_random_uuid(), $1, $2, 'use-lite@1', 512, $3, 3)`,
        [collection.rows[0]!.id, tenantId, storeKey],
      );
      const stream = await client.query<{ id: string }>(
        `INSERT INTO stream (id, tenant_id, name, kind, model, collection_id, webhook_secret, accepted_count, embedded_count)
         VALUES (gen_random_uuid(), $1, $2, 'text', 'use-lite@1', $3, $4, 3, 3) RETURNING id`,
        [tenantId, streamName, collection.rows[0]!.id, `whsec_${randomBytes(32).toString('base64url')}`],
      );
      const streamId = stream.rows[0]!.id;
      const items = ['alpha', 'beta', 'gamma'].map((id, i) => ({
        id,
        text: `legacy note ${id}`,
        vector: unitVector(i + 1),
        metadata: { origin: 'pglite', n: String(i) },
      }));
      for (const item of items) {
        await client.query(
          `INSERT INTO item (stream_id, id, tenant_id, text, metadata, status, model, vector, enqueued_at, embedded_at)
           VALUES ($1, $2, $3, $4, $5, 'embedded', 'use-lite@1', $6, now(), now())`,
          [
            streamId,
            item.id,
            tenantId,
            item.text,
            JSON.stringify(item.metadata),
            Buffer.from(new Float32Array(item.vector).buffer),
          ],
        );
      }
      return { tenantId, tenantName, apiKey, streamId, streamName, items };
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
}
