import { Injectable } from '@nestjs/common';
import type { PendingItem } from './item-ingest.repository';
import { SqlRepository } from './sql-repository';

/**
 * Items still to embed: queued, or written and not counted yet (a worker stopped between writing
 * the vector and indexing it), which the orphan sweep sends again like queued ones.
 */
const UNDONE = "(status = 'queued' OR (status = 'embedded' AND embedded_at IS NULL))";

/** An item and the id of the queue job that carries it. */
export interface ItemJob {
  id: string;
  jobId: string;
}

/** A queued item as the orphan sweep sees it: with the job that carries it (null: not recorded). */
export interface QueuedItem extends PendingItem {
  jobId: string | null;
  /** The model whose queue the item was put on (the stream's when it was accepted). */
  model: string;
}

/** A stream with items accepted and not yet embedded or failed, with what enqueueing needs. */
export interface StreamWithLag {
  id: string;
  tenantId: string;
  collectionId: string;
  model: string;
}

/**
 * Items on the queue: the job that carries each (recorded by ingest, a retry and the orphan
 * sweep alike) and what the orphan sweep looks for. Every method on items takes the tenant id and
 * changes or reads nothing of another tenant; {@link streamsWithLagAcrossTenants}, where the sweep
 * starts, is the one system-scoped method and says so.
 */
@Injectable()
export class ItemQueueRepository extends SqlRepository {
  /**
   * Records that the queue confirmed these items (with the job carrying each), once per item (a
   * worker may already have embedded one: its status is kept), and adds them to the stream's
   * accepted counter in the same statement. Returns how many were confirmed now: each item counts
   * exactly once, even when requests with the same ids race.
   */
  async markQueued(tenantId: string, streamId: string, items: ItemJob[]): Promise<number> {
    if (items.length === 0) return 0;
    const [row] = await this.rows<{ moved: string }>(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::text[]) AS t(id, job_id)
       ), moved AS (
         UPDATE item SET enqueued_at = now(), job_id = input.job_id,
           status = CASE WHEN status = 'pending' THEN 'queued'::item_status ELSE status END
         FROM input
         WHERE item.stream_id = $1::uuid AND item.id = input.id AND item.enqueued_at IS NULL
           AND item.tenant_id = $4::uuid
         RETURNING 1
       )
       UPDATE stream SET accepted_count = accepted_count + (SELECT count(*) FROM moved)
       WHERE id = $1::uuid AND tenant_id = $4::uuid
       RETURNING (SELECT count(*) FROM moved) AS moved`,
      [streamId, items.map((i) => i.id), items.map((i) => i.jobId), tenantId],
    );
    return Number(row?.moved ?? 0);
  }

  /**
   * Records the new job of items put on the queue again (a retry, or the orphan sweep) and restarts
   * their orphan clock, for those still queued.
   */
  async recordRequeued(tenantId: string, streamId: string, items: ItemJob[]): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `UPDATE item SET job_id = t.job_id, enqueued_at = now()
       FROM unnest($2::text[], $3::text[]) AS t(id, job_id)
       WHERE item.stream_id = $1::uuid AND item.id = t.id AND ${UNDONE}
         AND item.tenant_id = $4::uuid`,
      [streamId, items.map((i) => i.id), items.map((i) => i.jobId), tenantId],
    );
  }

  /**
   * Streams with items accepted and not yet embedded or failed, with what enqueueing needs: of
   * every tenant (system-scoped, for the orphan sweep; each row carries its tenant for the calls
   * that follow).
   */
  streamsWithLagAcrossTenants(): Promise<StreamWithLag[]> {
    return this.rows(
      `SELECT id, tenant_id AS "tenantId", collection_id AS "collectionId", model FROM stream
       WHERE accepted_count > embedded_count + failed_count ORDER BY id`,
      [],
    );
  }

  /**
   * Items of a stream put on the queue more than `olderThanMs` ago and still not embedded or failed,
   * a page at a time (ordered by id).
   */
  queuedBefore(
    tenantId: string,
    streamId: string,
    olderThanMs: number,
    limit: number,
    after?: string,
  ): Promise<QueuedItem[]> {
    return this.rows<QueuedItem>(
      `SELECT id, text, retries, accepted_at AS "acceptedAt", job_id AS "jobId", model FROM item
       WHERE stream_id = $1::uuid AND ${UNDONE} AND enqueued_at < now() - $2 * interval '1 millisecond'
         AND ($3::text IS NULL OR id > $3) AND tenant_id = $5::uuid
       ORDER BY id LIMIT $4`,
      [streamId, olderThanMs, after ?? null, limit, tenantId],
    );
  }

  /** Of the given ids, those still queued (not embedded, failed or deleted meanwhile). */
  async stillQueued(tenantId: string, streamId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.rows<{ id: string }>(
      `SELECT id FROM item WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND ${UNDONE}
         AND tenant_id = $3::uuid`,
      [streamId, ids, tenantId],
    );
    return new Set(rows.map((r) => r.id));
  }
}
