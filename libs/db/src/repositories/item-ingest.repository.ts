import { Injectable } from '@nestjs/common';
import { SqlRepository } from './sql-repository';

/** An item as ingest stores it. */
export interface NewItem {
  id: string;
  text: string;
  metadata: unknown;
  occurredAt: Date | null;
}

/** A stored item that still has to reach the queue (new, or accepted before the queue failed). */
export interface PendingItem {
  id: string;
  text: string;
  retries: number;
  acceptedAt: Date;
}

/**
 * Stored inputs (table `item`) as ingest takes them in: new items stored, those still to be
 * queued, and the lag that backpressure is judged by. Tenant-scoped: every method takes the tenant
 * id, and a stream of another tenant is not touched (its items are neither stored nor read).
 */
@Injectable()
export class ItemIngestRepository extends SqlRepository {
  /** Inserts the items that are new to the stream; returns the ids inserted. */
  async insertNew(tenantId: string, streamId: string, model: string, items: NewItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const rows = await this.rows<{ id: string }>(
      `INSERT INTO item (stream_id, id, tenant_id, text, metadata, occurred_at, model, status)
       SELECT $1::uuid, t.id, $2::uuid, t.text, t.metadata, t.occurred_at, $3, 'pending'
       FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS t(id, text, metadata, occurred_at)
       WHERE EXISTS (SELECT 1 FROM stream WHERE id = $1::uuid AND tenant_id = $2::uuid)
       ON CONFLICT (stream_id, id) DO NOTHING
       RETURNING id`,
      [
        streamId,
        tenantId,
        model,
        items.map((i) => i.id),
        items.map((i) => i.text),
        items.map((i) =>
          i.metadata === undefined || i.metadata === null ? null : JSON.stringify(i.metadata),
        ),
        items.map((i) => i.occurredAt),
      ],
    );
    return rows.map((r) => r.id);
  }

  /** Of the given ids, those not yet confirmed in the queue. */
  pending(tenantId: string, streamId: string, ids: string[]): Promise<PendingItem[]> {
    return this.rows<PendingItem>(
      `SELECT id, text, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND enqueued_at IS NULL AND tenant_id = $3::uuid`,
      [streamId, ids, tenantId],
    );
  }

  /**
   * Items accepted and not yet embedded or failed, in one query: over the tenant's streams, and
   * over every stream of one model (what that model's queue holds, in items rather than jobs; the
   * queue is shared by every tenant, so this figure spans them all).
   */
  async lags(tenantId: string, model: string): Promise<{ tenant: number; model: number }> {
    const [row] = await this.rows<{ tenant: string | null; model: string | null }>(
      `SELECT sum(accepted_count - embedded_count - failed_count) FILTER (WHERE tenant_id = $1::uuid) AS tenant,
              sum(accepted_count - embedded_count - failed_count) FILTER (WHERE model = $2) AS model
         FROM stream WHERE tenant_id = $1::uuid OR model = $2`,
      [tenantId, model],
    );
    return { tenant: Number(row?.tenant ?? 0), model: Number(row?.model ?? 0) };
  }
}
