import type { PrismaClient } from './generated/prisma/client';

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
 * (results). Every statement names the stream, and every stream belongs to one tenant.
 */
export class ItemStore {
  constructor(private readonly prisma: PrismaClient) {}

  /** Inserts the items that are new to the stream; returns the ids inserted. */
  async insertNew(tenantId: string, streamId: string, model: string, items: NewItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const rows = await this.prisma.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO item (stream_id, id, tenant_id, text, metadata, occurred_at, model, status)
       SELECT $1::uuid, t.id, $2::uuid, t.text, t.metadata, t.occurred_at, $3, 'pending'
       FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) AS t(id, text, metadata, occurred_at)
       ON CONFLICT (stream_id, id) DO NOTHING
       RETURNING id`,
      streamId,
      tenantId,
      model,
      items.map((i) => i.id),
      items.map((i) => i.text),
      items.map((i) => (i.metadata === undefined || i.metadata === null ? null : JSON.stringify(i.metadata))),
      items.map((i) => i.occurredAt),
    );
    return rows.map((r) => r.id);
  }

  /** Of the given ids, those not yet confirmed in the queue. */
  pending(streamId: string, ids: string[]): Promise<PendingItem[]> {
    return this.prisma.$queryRawUnsafe<PendingItem[]>(
      `SELECT id, text, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND enqueued_at IS NULL`,
      streamId,
      ids,
    );
  }

  /**
   * Records that the queue confirmed these items, once per item (a worker may already have
   * embedded one: its status is kept), and adds them to the stream's accepted counter in the same
   * statement. Returns how many were confirmed now: each item counts exactly once, even when
   * requests with the same ids race.
   */
  async markQueued(streamId: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [row] = await this.prisma.$queryRawUnsafe<{ moved: bigint }[]>(
      `WITH moved AS (
         UPDATE item SET enqueued_at = now(), status = CASE WHEN status = 'pending' THEN 'queued'::item_status ELSE status END
         WHERE stream_id = $1::uuid AND id = ANY($2::text[]) AND enqueued_at IS NULL
         RETURNING 1
       )
       UPDATE stream SET accepted_count = accepted_count + (SELECT count(*) FROM moved)
       WHERE id = $1::uuid
       RETURNING (SELECT count(*) FROM moved) AS moved`,
      streamId,
      ids,
    );
    return Number(row?.moved ?? 0);
  }

  /**
   * Writes vectors of embedded items, marks them embedded and adds the newly embedded ones to their
   * streams' counters, in one statement. Items deleted meanwhile are left alone; items written
   * before (a retried job) are written again but not counted twice.
   * Returns the items written, and per stream how many were newly embedded.
   */
  async writeEmbedded(
    items: EmbeddedItem[],
  ): Promise<{ written: WrittenItem[]; newly: Map<string, number> }> {
    if (items.length === 0) return { written: [], newly: new Map() };
    const rows = await this.prisma.$queryRawUnsafe<
      { streamId: string; itemId: string; text: string; metadata: unknown; wasEmbedded: boolean }[]
    >(
      `WITH input AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[]) AS t(stream_id, id, vector)
       ), before AS (
         SELECT i.stream_id, i.id, i.status FROM item i JOIN input USING (stream_id, id) FOR UPDATE OF i
       ), written AS (
         UPDATE item SET status = 'embedded', vector = input.vector, embedded_at = now(), error = NULL
         FROM input JOIN before USING (stream_id, id)
         WHERE item.stream_id = input.stream_id AND item.id = input.id AND before.status <> 'deleted'
         RETURNING item.stream_id, item.id, item.text, item.metadata, (before.status = 'embedded') AS was_embedded
       ), counted AS (
         -- In the same statement: a worker killed after this commit must not leave items uncounted.
         UPDATE stream SET embedded_count = embedded_count + n.count
         FROM (SELECT stream_id, count(*) AS count FROM written WHERE NOT was_embedded GROUP BY stream_id) AS n
         WHERE stream.id = n.stream_id
       )
       SELECT stream_id AS "streamId", id AS "itemId", text, metadata, was_embedded AS "wasEmbedded" FROM written`,
      items.map((i) => i.streamId),
      items.map((i) => i.itemId),
      items.map((i) => vectorBytes(i.vector)),
    );
    const newly = new Map<string, number>();
    for (const r of rows) if (!r.wasEmbedded) newly.set(r.streamId, (newly.get(r.streamId) ?? 0) + 1);
    return { written: rows.map(({ wasEmbedded: _w, ...r }) => r), newly };
  }

  /** Marks an item failed for good (unless it was embedded or deleted meanwhile); true when it changed. */
  async markFailed(streamId: string, itemId: string, error: string): Promise<boolean> {
    const changed = await this.prisma.$executeRawUnsafe(
      `UPDATE item SET status = 'failed', error = $3 WHERE stream_id = $1::uuid AND id = $2 AND status IN ('pending', 'queued')`,
      streamId,
      itemId,
      error.slice(0, 2000),
    );
    if (changed > 0) {
      await this.prisma.$executeRawUnsafe(
        `UPDATE stream SET failed_count = failed_count + 1 WHERE id = $1::uuid`,
        streamId,
      );
    }
    return changed > 0;
  }

  async addCounters(streamId: string, counts: { accepted?: number; embedded?: number; failed?: number }) {
    await this.prisma.$executeRawUnsafe(
      `UPDATE stream SET accepted_count = accepted_count + $2, embedded_count = embedded_count + $3,
              failed_count = failed_count + $4 WHERE id = $1::uuid`,
      streamId,
      counts.accepted ?? 0,
      counts.embedded ?? 0,
      counts.failed ?? 0,
    );
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
    await this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ version: bigint }[]>(
        'UPDATE collection SET version = version + 1 WHERE id = $1::uuid RETURNING version',
        collectionId,
      );
      if (!row) throw new Error(`collection ${collectionId} does not exist`);
      await publish(String(row.version));
    });
  }

  /** Items accepted by a tenant and not yet embedded or failed, over all its streams. */
  async tenantLag(tenantId: string): Promise<number> {
    const rows = await this.prisma.$queryRawUnsafe<{ lag: bigint | null }[]>(
      `SELECT sum(accepted_count - embedded_count - failed_count) AS lag FROM stream WHERE tenant_id = $1::uuid`,
      tenantId,
    );
    return Number(rows[0]?.lag ?? 0);
  }

  /** Failed items of a stream, a page at a time (ordered by id). */
  failures(streamId: string, limit: number, after?: string) {
    return this.prisma.$queryRawUnsafe<
      { id: string; error: string | null; retries: number; acceptedAt: Date }[]
    >(
      `SELECT id, error, retries, accepted_at AS "acceptedAt" FROM item
       WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text IS NULL OR id > $2)
       ORDER BY id LIMIT $3`,
      streamId,
      after ?? null,
      limit,
    );
  }

  /**
   * Moves failed items back to queued with one more retry (and out of the failed counter); returns
   * them, to enqueue.
   */
  async retryFailed(streamId: string, ids: string[] | undefined): Promise<PendingItem[]> {
    const rows = await this.prisma.$queryRawUnsafe<PendingItem[]>(
      `UPDATE item SET status = 'queued', retries = retries + 1, error = NULL
       WHERE stream_id = $1::uuid AND status = 'failed' AND ($2::text[] IS NULL OR id = ANY($2::text[]))
       RETURNING id, text, retries, accepted_at AS "acceptedAt"`,
      streamId,
      ids ?? null,
    );
    if (rows.length > 0) await this.addCounters(streamId, { failed: -rows.length });
    return rows;
  }

  /**
   * Marks an item of a collection deleted (whatever stream fed it); returns its streams and former
   * status. An item deleted before it was embedded leaves the accepted counter, so it is not lag.
   */
  async markDeleted(collectionId: string, itemId: string): Promise<{ streamId: string; status: string }[]> {
    const rows = await this.prisma.$queryRawUnsafe<{ streamId: string; status: string }[]>(
      `WITH target AS (
         SELECT i.stream_id, i.id, i.status FROM item i JOIN stream s ON s.id = i.stream_id
         WHERE s.collection_id = $1::uuid AND i.id = $2 AND i.status <> 'deleted' FOR UPDATE OF i
       )
       UPDATE item SET status = 'deleted', vector = NULL FROM target
       WHERE item.stream_id = target.stream_id AND item.id = target.id
       RETURNING item.stream_id AS "streamId", target.status::text AS status`,
      collectionId,
      itemId,
    );
    for (const row of rows) {
      // Only items the queue confirmed were counted as accepted; a pending one was not.
      if (row.status === 'queued') await this.addCounters(row.streamId, { accepted: -1 });
      if (row.status === 'failed') await this.addCounters(row.streamId, { accepted: -1, failed: -1 });
    }
    return rows;
  }

  /** Every embedded vector of a collection, in pages (rebuilding an embedded index). */
  async *collectionVectors(collectionId: string, pageSize = 2000): AsyncGenerator<StoredVector[]> {
    let afterStream = '00000000-0000-0000-0000-000000000000';
    let afterId = '';
    for (;;) {
      const rows = await this.prisma.$queryRawUnsafe<
        { itemId: string; streamId: string; text: string; metadata: unknown; vector: Uint8Array }[]
      >(
        `SELECT i.id AS "itemId", i.stream_id AS "streamId", i.text, i.metadata, i.vector
         FROM item i JOIN stream s ON s.id = i.stream_id
         WHERE s.collection_id = $1::uuid AND i.status = 'embedded' AND (i.stream_id, i.id) > ($2::uuid, $3)
         ORDER BY i.stream_id, i.id LIMIT $4`,
        collectionId,
        afterStream,
        afterId,
        pageSize,
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
