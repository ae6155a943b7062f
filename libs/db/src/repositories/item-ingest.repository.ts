import { Injectable } from '@nestjs/common';
import { SqlRepository } from './sql-repository';

/** An item as ingest stores it. */
export interface NewItem {
  id: string;
  text: string;
  metadata: unknown;
  occurredAt: Date | null;
  /** A conversation's or document's id (conversation and document streams). */
  groupId?: string | null;
  /** The item's position in its group; null numbers a conversation's message by arrival (see insertNew). */
  sequence?: number | null;
  /** A sensor reading. */
  sensorValues?: Record<string, number> | null;
}

/** A stored item that still has to reach the queue (new, or accepted before the queue failed). */
export interface PendingItem {
  id: string;
  text: string;
  retries: number;
  acceptedAt: Date;
}

/** The seed of the advisory-lock keys of conversations being numbered (so they meet no other lock's keys). */
const ARRIVAL_LOCK_SEED = 7_140_021;

const INPUT = `unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[], $8::text[], $9::int[], $10::jsonb[])
  WITH ORDINALITY AS t(id, text, metadata, occurred_at, group_id, sequence, sensor_values, position)`;

const INSERT_INTO = `INSERT INTO item (stream_id, id, tenant_id, text, metadata, occurred_at, group_id, sequence, sensor_values, model, status)`;

const INSERT_AS_SENT = `${INSERT_INTO}
  SELECT $1::uuid, t.id, $2::uuid, t.text, t.metadata, t.occurred_at, t.group_id, t.sequence, t.sensor_values, $3, 'pending'
  FROM ${INPUT}
  WHERE EXISTS (SELECT 1 FROM stream WHERE id = $1::uuid AND tenant_id = $2::uuid)
  ON CONFLICT (stream_id, id) DO NOTHING
  RETURNING id`;

// Only new ids are numbered, each once (under the groups' locks nobody else inserts into them meanwhile).
const INSERT_IN_ARRIVAL_ORDER = `WITH new AS (
    SELECT DISTINCT ON (t.id) t.* FROM ${INPUT}
    WHERE EXISTS (SELECT 1 FROM stream WHERE id = $1::uuid AND tenant_id = $2::uuid)
      AND NOT EXISTS (SELECT 1 FROM item i WHERE i.stream_id = $1::uuid AND i.id = t.id)
    ORDER BY t.id, t.position
  ), numbered AS (
    SELECT new.*,
           row_number() OVER (PARTITION BY group_id, sequence IS NULL ORDER BY position) AS arrival
    FROM new
  )
  ${INSERT_INTO}
  SELECT $1::uuid, n.id, $2::uuid, n.text, n.metadata, n.occurred_at, n.group_id,
         CASE WHEN n.group_id IS NULL OR n.sequence IS NOT NULL THEN n.sequence
              ELSE coalesce((SELECT max(i.sequence) FROM item i
                              WHERE i.stream_id = $1::uuid AND i.group_id = n.group_id), -1) + n.arrival
         END,
         n.sensor_values, $3, 'pending'
  FROM numbered n
  ON CONFLICT (stream_id, id) DO NOTHING
  RETURNING id`;

/**
 * Stored inputs (table `item`) as ingest takes them in: new items stored, those still to be
 * queued, and the lag that backpressure is judged by. Tenant-scoped: every method takes the tenant
 * id, and a stream of another tenant is not touched (its items are neither stored nor read).
 */
@Injectable()
export class ItemIngestRepository extends SqlRepository {
  /**
   * Inserts the items that are new to the stream; returns the ids inserted. With `arrivalOrder`
   * (conversation streams), a new item with a group and no sequence gets the next in its group:
   * the group's highest stored sequence (or -1) + 1 + its position among the batch's such items of
   * that group. Each group of the batch is locked for the transaction (advisory locks, taken in
   * key order so two batches never wait on each other), so concurrent batches number one after the
   * other; an id already stored takes no number.
   */
  async insertNew(
    tenantId: string,
    streamId: string,
    model: string,
    items: NewItem[],
    options: { arrivalOrder?: boolean } = {},
  ): Promise<string[]> {
    if (items.length === 0) return [];
    const params = [
      streamId,
      tenantId,
      model,
      items.map((i) => i.id),
      items.map((i) => i.text),
      items.map((i) => (i.metadata === undefined || i.metadata === null ? null : JSON.stringify(i.metadata))),
      items.map((i) => i.occurredAt),
      items.map((i) => i.groupId ?? null),
      items.map((i) => i.sequence ?? null),
      items.map((i) => (i.sensorValues ? JSON.stringify(i.sensorValues) : null)),
    ];
    // Only groups with items to number are locked: a batch whose items all carry their sequence
    // is inserted as sent.
    const groups = [
      ...new Set(items.flatMap((i) => (i.groupId && (i.sequence ?? null) === null ? [i.groupId] : []))),
    ];
    if (!options.arrivalOrder || groups.length === 0) {
      return (await this.rows<{ id: string }>(INSERT_AS_SENT, params)).map((r) => r.id);
    }
    return this.sql.transaction(async (tx) => {
      await this.rows(
        `SELECT pg_advisory_xact_lock(k)
           FROM unnest(ARRAY(SELECT DISTINCT hashtextextended($1::text || '/' || g, ${ARRIVAL_LOCK_SEED})
                               FROM unnest($2::text[]) AS g ORDER BY 1)) AS k`,
        [streamId, groups],
        tx,
      );
      return (await this.rows<{ id: string }>(INSERT_IN_ARRIVAL_ORDER, params, tx)).map((r) => r.id);
    });
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
