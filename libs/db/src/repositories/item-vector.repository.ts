import { Injectable } from '@nestjs/common';
import { promotableRolloutStates } from '@tributary/contracts';
import type { SqlClient } from '../sql-client';
import type { CollectionVersions } from './collection.repository';
import type { WrittenItem } from './item-embedding.repository';
import { SqlRepository } from './sql-repository';
import { packedVectors } from './vector-bytes';

/** An item's vector by one version of its collection. */
export interface VersionVector {
  streamId: string;
  itemId: string;
  vector: Float32Array;
}

/**
 * An embedded item without its vector by a live version that should have it (its dual-write job
 * was lost or wrote nothing), with what a dual-write job needs.
 */
export interface MissingVersionVector {
  tenantId: string;
  streamId: string;
  collectionId: string;
  versionId: string;
  /** The version's model: the queue its dual-write goes to. */
  model: string;
  id: string;
  text: string;
  retries: number;
  acceptedAt: Date;
  /** The job that carried the item's own embedding (its dual-write job's id derives from it). */
  jobId: string | null;
}

/**
 * Items accepted up to this long before a rollout's backfill finished are checked too: one whose
 * stream was read (cached) before the candidate existed got no dual-write job, and the backfill's
 * catch-up may have passed it already.
 */
const VERSION_GAP_MARGIN_MS = 60_000;

/** What a write by a version may also do inside its transaction once the points are published. */
export type AfterVersionWrite = (tx: SqlClient, written: WrittenItem[]) => Promise<void>;

/**
 * Vectors of items by versions of their collection other than the one the item's row holds
 * (`item.vector` is by `item.model`): a rollout's backfill and the dual-writes of items arriving
 * while more than one version is live. The rebuild reads both through
 * `CollectionRepository.versionVectors`.
 */
@Injectable()
export class ItemVectorRepository extends SqlRepository {
  /**
   * Writes vectors by version `versionId` of the items' collection and runs `publish` with the
   * items written (their points go to the version's index) inside the same transaction, with the
   * items' rows held (FOR SHARE) and the version's points' versions taken in it: a delete of one of
   * them waits until the point is published and then removes it, and a delete that came first makes
   * the write skip the item, so a deleted item never comes back in any version. Items deleted or
   * failed, of another tenant, of another collection, or a retired version write nothing. `after`
   * runs last in the transaction (a backfill's cursor). Returns the items written.
   */
  async write(
    tenantId: string,
    versionId: string,
    items: VersionVector[],
    publish: (written: WrittenItem[], versions: CollectionVersions) => Promise<void>,
    after?: AfterVersionWrite,
  ): Promise<WrittenItem[]> {
    return this.sql.transaction(async (tx) => {
      // The version's row first (deletes take their collection's versions before the item, in the
      // same order): a retirement waits for this write, and a retired version writes nothing.
      const [live] = await this.rows(
        `SELECT 1 FROM collection_version WHERE id = $1::uuid AND tenant_id = $2::uuid AND retired_at IS NULL
         FOR NO KEY UPDATE`,
        [versionId, tenantId],
        tx,
      );
      const written = !live || items.length === 0 ? [] : await this.writeRows(tx, tenantId, versionId, items);
      if (written.length > 0) {
        await publish(written, {
          next: async (storeKey, run) => {
            const [row] = await this.rows<{ version: string }>(
              `UPDATE collection_version SET version = version + 1
               WHERE store_key = $1 AND id = $2::uuid AND tenant_id = $3::uuid RETURNING version`,
              [storeKey, versionId, tenantId],
              tx,
            );
            if (!row) throw new Error(`collection version ${versionId} has no store key ${storeKey}`);
            return run(String(row.version));
          },
        });
      }
      await after?.(tx, written);
      return written;
    });
  }

  /**
   * Embedded items accepted more than `olderThanMs` ago without their vector by a live version of
   * their collection that a rollout finished backfilling (the candidate of a ready, canary or shadow
   * rollout; both versions of a promoted one while the previous is retained): their dual-write job
   * was lost (a Redis failover), failed for good, or never made (a stream read from a cache just
   * before the rollout began). Only items accepted since the backfill finished (less a margin) are
   * looked at: the backfill covered the earlier ones. System-scoped, for the orphan sweep (each row
   * carries its tenant). An item's vector by a version is on its row when the version's model is
   * the item's, else in `item_vector`.
   */
  missingAcrossTenants(olderThanMs: number, limit: number): Promise<MissingVersionVector[]> {
    return this.rows<MissingVersionVector>(
      `WITH checked AS (
         SELECT DISTINCT ON (v.id) v.id, v.model, v.tenant_id, v.collection_id,
           r.backfill_finished_at - $3 * interval '1 millisecond' AS since
         FROM rollout r
         JOIN collection_version v ON v.id IN (r.from_version_id, r.to_version_id) AND v.retired_at IS NULL
         WHERE r.backfill_finished_at IS NOT NULL
           AND (r.state::text = ANY($4::text[]) OR (r.state = 'promoted' AND r.retain_until > now()))
         ORDER BY v.id, r.backfill_finished_at
       )
       SELECT c.tenant_id AS "tenantId", i.stream_id AS "streamId", c.collection_id AS "collectionId",
         c.id AS "versionId", c.model, i.id, i.text, i.retries, i.accepted_at AS "acceptedAt", i.job_id AS "jobId"
       FROM checked c
       JOIN stream s ON s.collection_id = c.collection_id AND s.tenant_id = c.tenant_id
       JOIN item i ON i.stream_id = s.id
       WHERE i.status = 'embedded' AND i.model <> c.model
         AND i.accepted_at >= c.since AND i.accepted_at < now() - $1 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM item_vector iv
           WHERE iv.version_id = c.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id)
       ORDER BY c.id, i.stream_id, i.id LIMIT $2`,
      [olderThanMs, limit, VERSION_GAP_MARGIN_MS, [...promotableRolloutStates]],
    );
  }

  private writeRows(
    tx: SqlClient,
    tenantId: string,
    versionId: string,
    items: VersionVector[],
  ): Promise<WrittenItem[]> {
    const { bytes: vectors, width } = packedVectors(
      items.map((i) => i.vector),
      'ItemVectorRepository.write',
    );
    return this.rows<WrittenItem>(
      `WITH input AS (
         SELECT t.stream_id, t.id, substring($3::bytea FROM ((t.n - 1) * $4::int + 1)::int FOR $4::int) AS vector
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS t(stream_id, id, n)
       ), target AS (
         -- Held in key order (as the worker's own writes lock them): never a deadlock with them.
         SELECT i.stream_id, i.id, i.text, i.metadata FROM item i
         JOIN input USING (stream_id, id)
         JOIN stream s ON s.id = i.stream_id AND s.tenant_id = $6::uuid
         JOIN collection_version v ON v.id = $5::uuid AND v.collection_id = s.collection_id
         WHERE i.status NOT IN ('deleted', 'failed')
         ORDER BY i.stream_id, i.id FOR SHARE OF i
       ), written AS (
         INSERT INTO item_vector (version_id, stream_id, item_id, vector)
         SELECT $5::uuid, target.stream_id, target.id, input.vector FROM target JOIN input USING (stream_id, id)
         ON CONFLICT (version_id, stream_id, item_id) DO UPDATE SET vector = EXCLUDED.vector
         RETURNING stream_id, item_id
       )
       SELECT t.stream_id AS "streamId", t.id AS "itemId", t.text, t.metadata
       FROM written w JOIN target t ON t.stream_id = w.stream_id AND t.id = w.item_id`,
      [items.map((i) => i.streamId), items.map((i) => i.itemId), vectors, width, versionId, tenantId],
      tx,
    );
  }
}
