import type { SqlClient, TransactionalSqlClient } from './sql-client';

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

/** An item and the id of the queue job that carries it. */
export interface ItemJob {
  id: string;
  jobId: string;
}

/** A queued item as the orphan sweep sees it: with the job that carries it (null: not recorded). */
export interface QueuedItem extends PendingItem {
  jobId: string | null;
}

/** An embedded item, ready to be written with its vector. */
export interface EmbeddedItem {
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

export interface StoredVector {
  itemId: string;
  streamId: string;
  text: string;
  metadata: unknown;
  vector: Float32Array;
}

function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function vectorFrom(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes).buffer;
  return new Float32Array(copy);
}

/**
 * Stored inputs (table `item`), in set-based SQL: a request of 1,000 items is a handful of
 * statements, not thousands. Shared by the API (ingest, failures, deletes) and the workers
 * (results). Every statement names the stream, and every stream belongs to one tenant. Each change
 * to items and the stream counters that count them is one statement, so a process killed at any
 * point leaves them consistent.
 */
export class ItemStore {
  constructor(private readonly sql: TransactionalSqlClient) {}

  private async rows<R>(text: string, params: unknown[], db: SqlClient = this.sql): Promise<R[]> {
    return (await db.query<R>(text, params)).rows;
  }

  /** Inserts the items that are new to the stream; returns the ids inserted. */
  async insertNew(tenantId: string, streamId: string, model: string, items: NewItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const rows = await this.rows<{ id: string }>(
      `INSERT INTO item (stream_id, id, tenant_id, text, metadata, occurred_at, model, status)
       SELECT $1::uuid, t.id, $2::uuid, t.text, t.metadata, t.occurred_at, $3, 'pending'
       FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS t(id, text, metadata, occurred_at)
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
  pending(streamId: string, ids: string[]): Promise<PendingItem[]> {
    return this.rows<PendingItem>(
      `SELECT id, text, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND enqueued_at IS NULL`,
      [streamId, ids],
    );
  }

  /**
   * Records that the queue confirmed these items (with the job carrying each), once per item (a
   * worker may already have embedded one: its status is kept), and adds them to the stream's
   * accepted counter in the same statement. Returns how many were confirmed now: each item counts
   * exactly once, even when requests with the same ids race.
   */
  async markQueued(streamId: string, items: ItemJob[]): Promise<number> {
    if (items.length === 0) return 0;
    const [row] = await this.rows<{ moved: string }>(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::text[]) AS t(id, job_id)
       ), moved AS (
         UPDATE item SET enqueued_at = now(), job_id = input.job_id,
           status = CASE WHEN status = 'pending' THEN 'queued'::item_status ELSE status END
         FROM input
         WHERE item.stream_id = $1::uuid AND item.id = input.id AND item.enqueued_at IS NULL
         RETURNING 1
       )
       UPDATE stream SET accepted_count = accepted_count + (SELECT count(*) FROM moved)
       WHERE id = $1::uuid
       RETURNING (SELECT count(*) FROM moved) AS moved`,
      [streamId, items.map((i) => i.id), items.map((i) => i.jobId)],
    );
    return Number(row?.moved ?? 0);
  }

  /**
   * Records the new job of items put on the queue again (a retry, or the orphan sweep) and restarts
   * their orphan clock, for those still queued.
   */
  async recordRequeued(streamId: string, items: ItemJob[]): Promise<void> {
    if (items.length === 0) return;
    await this.sql.query(
      `UPDATE item SET job_id = t.job_id, enqueued_at = now()
       FROM unnest($2::text[], $3::text[]) AS t(id, job_id)
       WHERE item.stream_id = $1::uuid AND item.id = t.id AND item.status = 'queued'`,
      [streamId, items.map((i) => i.id), items.map((i) => i.jobId)],
    );
  }

  /** Of the given ids, those still queued (not embedded, failed or deleted meanwhile). */
  async stillQueued(streamId: string, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.rows<{ id: string }>(
      `SELECT id FROM item WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND status = 'queued'`,
      [streamId, ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Writes vectors of embedded items, marks them embedded and adds the newly embedded ones to their
   * streams' counters, in one statement. Items deleted meanwhile are left alone; items written
   * before (a retried job) are written again but not counted twice. Returns the items written.
   */
  async writeEmbedded(items: EmbeddedItem[]): Promise<WrittenItem[]> {
    if (items.length === 0) return [];
    // All vectors in one buffer, sent as one binary parameter and cut apart in SQL: an array of
    // bytea would travel as hex text (twice the bytes, encoded here and decoded by PostgreSQL).
    const width = items[0]!.vector.byteLength;
    if (items.some((i) => i.vector.byteLength !== width))
      throw new Error('writeEmbedded takes vectors of one length per call');
    const vectors = Buffer.allocUnsafe(width * items.length);
    items.forEach((item, i) => vectorBytes(item.vector).copy(vectors, i * width));
    return this.rows<WrittenItem>(
      `WITH input AS (
         SELECT t.stream_id, t.id, substring($3::bytea FROM ((t.n - 1) * $4::int + 1)::int FOR $4::int) AS vector
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(stream_id, id, n)
       ), before AS (
         -- Locked in key order: two workers writing overlapping items (a redelivered job) wait, never deadlock.
         SELECT i.stream_id, i.id, i.status FROM item i JOIN input USING (stream_id, id)
         ORDER BY i.stream_id, i.id FOR UPDATE OF i
       ), written AS (
         UPDATE item SET status = 'embedded', vector = input.vector, embedded_at = now(), failure_reason = NULL
         FROM input JOIN before USING (stream_id, id)
         WHERE item.stream_id = input.stream_id AND item.id = input.id AND before.status <> 'deleted'
         RETURNING item.stream_id, item.id, item.text, item.metadata, (before.status = 'embedded') AS was_embedded
       ), counted AS (
         -- In the same statement: a worker killed after this commit must not leave items uncounted.
         UPDATE stream SET embedded_count = embedded_count + n.count
         FROM (SELECT stream_id, count(*) AS count FROM written WHERE NOT was_embedded GROUP BY stream_id) AS n
         WHERE stream.id = n.stream_id
       )
       SELECT stream_id AS "streamId", id AS "itemId", text, metadata FROM written`,
      [items.map((i) => i.streamId), items.map((i) => i.itemId), vectors, width],
    );
  }

  /**
   * Marks an item failed for good (unless it was embedded or deleted meanwhile) and counts it, in
   * one statement; true when it changed.
   */
  async markFailed(streamId: string, itemId: string, reason: string): Promise<boolean> {
    const [row] = await this.rows<{ changed: string }>(
      `WITH changed AS (
         UPDATE item SET status = 'failed', failure_reason = $3
         WHERE stream_id = $1::uuid AND id = $2 AND status IN ('pending', 'queued')
         RETURNING 1
       )
       UPDATE stream SET failed_count = failed_count + (SELECT count(*) FROM changed)
       WHERE id = $1::uuid
       RETURNING (SELECT count(*) FROM changed) AS changed`,
      [streamId, itemId, reason],
    );
    return Number(row?.changed ?? 0) > 0;
  }

  /**
   * Bumps a collection's version (its points changed) and runs `publish` with the new version while
   * the collection's row stays locked, so what `publish` appends (the index log) is in version
   * order whatever the number of processes writing.
   */
  async withNextCollectionVersion(
    collectionId: string,
    publish: (version: string) => Promise<unknown>,
  ): Promise<void> {
    await this.sql.transaction(async (tx) => publish(await this.nextVersion(collectionId, tx)));
  }

  /** Bumps a collection's version inside `tx` (its row stays locked until `tx` ends). */
  private async nextVersion(collectionId: string, tx: SqlClient): Promise<string> {
    const [row] = await this.rows<{ version: string }>(
      'UPDATE collection SET version = version + 1 WHERE id = $1::uuid RETURNING version',
      [collectionId],
      tx,
    );
    if (!row) throw new Error(`collection ${collectionId} does not exist`);
    return String(row.version);
  }

  /**
   * Deletes an item of a collection ({@link markDeleted}), bumps the collection's version and runs
   * `removePoint` with it, in one transaction: when removing the point (appending to the index log,
   * or deleting from a shared store) fails, the item stays as it was, so the caller's retry finds it
   * again instead of a 404 while its point stays searchable. Returns what {@link markDeleted} does;
   * nothing changes (and `removePoint` is not called) when the item is not there.
   */
  async deleteFromCollection(
    collectionId: string,
    itemId: string,
    removePoint: (version: string) => Promise<unknown>,
  ): Promise<{ streamId: string; status: string }[]> {
    return this.sql.transaction(async (tx) => {
      const deleted = await this.markDeleted(collectionId, itemId, tx);
      if (deleted.length === 0) return deleted;
      await removePoint(await this.nextVersion(collectionId, tx));
      return deleted;
    });
  }

  /** Streams with items accepted and not yet embedded or failed, with what enqueueing needs. */
  streamsWithLag(): Promise<{ id: string; tenantId: string; collectionId: string; model: string }[]> {
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
  queuedBefore(streamId: string, olderThanMs: number, limit: number, after?: string): Promise<QueuedItem[]> {
    return this.rows<QueuedItem>(
      `SELECT id, text, retries, accepted_at AS "acceptedAt", job_id AS "jobId" FROM item
       WHERE stream_id = $1::uuid AND status = 'queued' AND enqueued_at < now() - $2 * interval '1 millisecond'
         AND ($3::text IS NULL OR id > $3)
       ORDER BY id LIMIT $4`,
      [streamId, olderThanMs, after ?? null, limit],
    );
  }

  /**
   * Items accepted and not yet embedded or failed, in one query: over the tenant's streams, and
   * over every stream of one model (what that model's queue holds, in items rather than jobs).
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

  /** Failed items of a stream, a page at a time (ordered by id). */
  failures(streamId: string, limit: number, after?: string) {
    return this.rows<{ id: string; reason: string | null; retries: number; acceptedAt: Date }>(
      `SELECT id, failure_reason AS reason, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text IS NULL OR id > $2)
       ORDER BY id LIMIT $3`,
      [streamId, after ?? null, limit],
    );
  }

  /**
   * Moves failed items back to queued with one more retry and out of the failed counter, in one
   * statement; returns them, to enqueue.
   */
  retryFailed(streamId: string, ids: string[] | undefined): Promise<PendingItem[]> {
    return this.rows<PendingItem>(
      `WITH moved AS (
         UPDATE item SET status = 'queued', retries = retries + 1, failure_reason = NULL, enqueued_at = now(), job_id = NULL
         WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text[] IS NULL OR id = ANY($2::text[]))
         RETURNING id, text, retries, accepted_at
       ), counted AS (
         UPDATE stream SET failed_count = failed_count - (SELECT count(*) FROM moved)
         WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM moved)
       )
       SELECT id, text, retries, accepted_at AS "acceptedAt" FROM moved`,
      [streamId, ids ?? null],
    );
  }

  /**
   * Marks an item of a collection deleted (whatever stream fed it) and takes it out of its
   * streams' counters, in one statement; returns its streams and former status. An item deleted
   * before it was embedded leaves the accepted counter (and the failed one), so it is not lag; an
   * item still pending was never counted.
   */
  markDeleted(
    collectionId: string,
    itemId: string,
    db: SqlClient = this.sql,
  ): Promise<{ streamId: string; status: string }[]> {
    return this.rows<{ streamId: string; status: string }>(
      `WITH target AS (
         SELECT i.stream_id, i.id, i.status FROM item i JOIN stream s ON s.id = i.stream_id
         WHERE s.collection_id = $1::uuid AND i.id = $2 AND i.status <> 'deleted' FOR UPDATE OF i
       ), deleted AS (
         UPDATE item SET status = 'deleted', vector = NULL FROM target
         WHERE item.stream_id = target.stream_id AND item.id = target.id
         RETURNING item.stream_id, target.status
       ), counted AS (
         UPDATE stream SET
           accepted_count = accepted_count - d.unembedded,
           failed_count = failed_count - d.failed
         FROM (
           SELECT stream_id,
                  count(*) FILTER (WHERE status IN ('queued', 'failed')) AS unembedded,
                  count(*) FILTER (WHERE status = 'failed') AS failed
           FROM deleted GROUP BY stream_id
         ) AS d
         WHERE stream.id = d.stream_id
       )
       SELECT stream_id AS "streamId", status::text AS status FROM deleted`,
      [collectionId, itemId],
      db,
    );
  }

  /** Every embedded vector of a collection, in pages (rebuilding an embedded index). */
  async *collectionVectors(collectionId: string, pageSize = 2000): AsyncGenerator<StoredVector[]> {
    let afterStream = '00000000-0000-0000-0000-000000000000';
    let afterId = '';
    for (;;) {
      const rows = await this.rows<{
        itemId: string;
        streamId: string;
        text: string;
        metadata: unknown;
        vector: Uint8Array;
      }>(
        `SELECT i.id AS "itemId", i.stream_id AS "streamId", i.text, i.metadata, i.vector
         FROM item i JOIN stream s ON s.id = i.stream_id
         WHERE s.collection_id = $1::uuid AND i.status = 'embedded' AND (i.stream_id, i.id) > ($2::uuid, $3)
         ORDER BY i.stream_id, i.id LIMIT $4`,
        [collectionId, afterStream, afterId, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({ ...r, vector: vectorFrom(r.vector) }));
      const last = rows[rows.length - 1]!;
      afterStream = last.streamId;
      afterId = last.itemId;
      if (rows.length < pageSize) return;
    }
  }
}
