import { Injectable } from '@nestjs/common';
import type { PendingItem } from './item-ingest.repository';
import { SqlRepository } from './sql-repository';

/** A failed item as `/failures` lists it: the stored reason code, never error text. */
export interface FailedItem {
  id: string;
  reason: string | null;
  retries: number;
  acceptedAt: Date;
}

/**
 * Items that failed for good: listed for their tenant, and moved back to the queue on request.
 * Tenant-scoped: another tenant's stream lists nothing and retries nothing.
 */
@Injectable()
export class ItemFailureRepository extends SqlRepository {
  /** Failed items of a stream, a page at a time (ordered by id). */
  failures(tenantId: string, streamId: string, limit: number, after?: string): Promise<FailedItem[]> {
    return this.rows<FailedItem>(
      `SELECT id, failure_reason AS reason, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text IS NULL OR id > $2) AND tenant_id = $4::uuid
       ORDER BY id LIMIT $3`,
      [streamId, after ?? null, limit, tenantId],
    );
  }

  /**
   * Moves failed items back to queued with one more retry and out of the failed counter, in one
   * statement; returns them, to enqueue.
   */
  retryFailed(tenantId: string, streamId: string, ids: string[] | undefined): Promise<PendingItem[]> {
    return this.rows<PendingItem>(
      `WITH moved AS (
         UPDATE item SET status = 'queued', retries = retries + 1, failure_reason = NULL, enqueued_at = now(), job_id = NULL
         WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text[] IS NULL OR id = ANY($2::text[]))
           AND tenant_id = $3::uuid
         RETURNING id, text, retries, accepted_at
       ), counted AS (
         UPDATE stream SET failed_count = failed_count - (SELECT count(*) FROM moved)
         WHERE id = $1::uuid AND tenant_id = $3::uuid AND EXISTS (SELECT 1 FROM moved)
       )
       SELECT id, text, retries, accepted_at AS "acceptedAt" FROM moved`,
      [streamId, ids ?? null, tenantId],
    );
  }
}
