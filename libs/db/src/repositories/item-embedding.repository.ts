import { Injectable } from '@nestjs/common';
import { SqlRepository } from './sql-repository';
import { packedVectors } from './vector-bytes';

/**
 * An embedded item, ready to be written with its vector. The tenant comes from the job that
 * carried the item: an item of another tenant (a corrupted job) is not written.
 */
export interface EmbeddedItem {
  tenantId: string;
  streamId: string;
  itemId: string;
  vector: Float32Array;
}

/** What the worker needs to index a written item. */
export interface WrittenItem {
  streamId: string;
  itemId: string;
  text: string;
  metadata: unknown;
}

/**
 * The worker's results on stored inputs (table `item`): vectors written, items counted as embedded
 * once their points are in the vector store (or its log), items failed for good. An item written
 * and not yet counted (`embedded_at` null) is still work to do: lag for the counters, queued for the
 * orphan sweep, deletable and failable like a queued one. Each change to items and the stream
 * counters that count them is one statement, so a process killed at any point leaves them
 * consistent. Tenant-scoped by the job's tenant id: a job naming
 * another tenant's stream changes nothing.
 */
@Injectable()
export class ItemEmbeddingRepository extends SqlRepository {
  /**
   * Writes vectors of embedded items and marks them embedded (what an embedded index is rebuilt
   * from), not yet counted: {@link countEmbedded} counts them once they are indexed, so that an item
   * counted embedded has its write in the store (and, for the embedded store, a collection version).
   * Items deleted meanwhile are left alone; items written before (a retried job) are written again
   * and keep whether they were counted; items not of the tenant given with them are not written.
   * The vectors are by `model`, which the items' rows then name (`item.vector` is by `item.model`:
   * an item queued before a promotion and sent again after it may be embedded by the new serving
   * model; without `model`, the rows keep theirs). Returns the items written.
   */
  async writeEmbedded(items: EmbeddedItem[], model?: string): Promise<WrittenItem[]> {
    if (items.length === 0) return [];
    const { bytes: vectors, width } = packedVectors(
      items.map((i) => i.vector),
      'writeEmbedded',
    );
    return this.rows<WrittenItem>(
      `WITH input AS (
         SELECT t.stream_id, t.id, t.tenant_id, substring($3::bytea FROM ((t.n - 1) * $4::int + 1)::int FOR $4::int) AS vector
         FROM unnest($1::uuid[], $2::text[], $5::uuid[]) WITH ORDINALITY AS t(stream_id, id, tenant_id, n)
       ), before AS (
         -- Locked in key order: two workers writing overlapping items (a redelivered job) wait, never deadlock.
         SELECT i.stream_id, i.id, i.status FROM item i JOIN input USING (stream_id, id, tenant_id)
         ORDER BY i.stream_id, i.id FOR UPDATE OF i
       ), written AS (
         UPDATE item SET status = 'embedded', vector = input.vector, model = COALESCE($6, item.model), failure_reason = NULL,
           embedded_at = CASE WHEN before.status = 'embedded' THEN item.embedded_at END
         FROM input JOIN before USING (stream_id, id)
         WHERE item.stream_id = input.stream_id AND item.id = input.id AND before.status <> 'deleted'
         RETURNING item.stream_id, item.id, item.text, item.metadata
       )
       SELECT stream_id AS "streamId", id AS "itemId", text, metadata FROM written`,
      [
        items.map((i) => i.streamId),
        items.map((i) => i.itemId),
        vectors,
        width,
        items.map((i) => i.tenantId),
        model ?? null,
      ],
    );
  }

  /**
   * Counts written items as embedded (their points are indexed), each once: items counted before
   * (a retried job), deleted or failed meanwhile, or of another tenant are left alone. One
   * statement: a worker killed before it leaves them written and uncounted, and its retry counts them.
   */
  async countEmbedded(items: { tenantId: string; streamId: string; itemId: string }[]): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS t(stream_id, id, tenant_id)
       ), target AS (
         -- Locked in key order, as writeEmbedded does. Found by key alone and filtered after: a
         -- status filter here lets the planner scan every item of the table (a hash join) per batch.
         SELECT i.stream_id, i.id, i.status, i.embedded_at FROM item i JOIN input USING (stream_id, id, tenant_id)
         ORDER BY i.stream_id, i.id FOR UPDATE OF i
       ), counted AS (
         UPDATE item SET embedded_at = now() FROM target
         WHERE item.stream_id = target.stream_id AND item.id = target.id
           AND target.status = 'embedded' AND target.embedded_at IS NULL
         RETURNING item.stream_id
       )
       UPDATE stream SET embedded_count = embedded_count + n.count
       FROM (SELECT stream_id, count(*) AS count FROM counted GROUP BY stream_id) AS n
       WHERE stream.id = n.stream_id`,
      [items.map((i) => i.streamId), items.map((i) => i.itemId), items.map((i) => i.tenantId)],
    );
  }

  /**
   * Marks an item failed for good (unless it was embedded, and counted, or deleted meanwhile) and
   * counts it, in one statement; true when it changed.
   */
  async markFailed(tenantId: string, streamId: string, itemId: string, reason: string): Promise<boolean> {
    const [row] = await this.rows<{ changed: string }>(
      `WITH changed AS (
         UPDATE item SET status = 'failed', failure_reason = $3
         WHERE stream_id = $1::uuid AND id = $2 AND tenant_id = $4::uuid
           AND (status IN ('pending', 'queued') OR (status = 'embedded' AND embedded_at IS NULL))
         RETURNING 1
       )
       UPDATE stream SET failed_count = failed_count + (SELECT count(*) FROM changed)
       WHERE id = $1::uuid AND tenant_id = $4::uuid
       RETURNING (SELECT count(*) FROM changed) AS changed`,
      [streamId, itemId, reason, tenantId],
    );
    return Number(row?.changed ?? 0) > 0;
  }
}
