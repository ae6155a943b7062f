import { Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@tributary/contracts';
import type {
  Collection,
  CollectionVersion as CollectionVersionRow,
  Prisma,
} from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import type { SqlClient } from '../sql-client';
import { SqlRepository } from './sql-repository';
import { vectorFrom } from './vector-bytes';
import { HAS_VECTOR_BY_VERSION_SQL, VECTOR_BY_VERSION_SQL } from './version-vector-sql';

/** An embedded item's vector as PostgreSQL holds it, with what its point's payload is made of. */
export interface StoredVector {
  itemId: string;
  streamId: string;
  text: string;
  metadata: unknown;
  vector: Float32Array;
  /** A derived vector's group (conversation, document) and how many vectors it came from. */
  groupId?: string;
  members?: number;
}

/**
 * Takes a collection's next version and runs `publish` with it while the version is held (the
 * vector store's `CollectionVersions`, which this library does not import).
 */
export interface CollectionVersions {
  next<T>(storeKey: string, publish: (version: string) => Promise<T>): Promise<T>;
}

/** How long {@link CollectionRepository.byName} trusts what it read. */
const BY_NAME_CACHE_MS = 1_000;

/** A rollout's complete candidate, as search routes to it. */
export interface SearchCandidate {
  rolloutId: string;
  state: 'ready' | 'canary' | 'shadow';
  mode: 'canary' | 'shadow';
  trafficPercent: number;
  model: string;
  storeKey: string;
  dimensions: number;
}

/** A collection (pointing at its serving version) and the candidate search may route to. */
export type RoutedCollection = Collection & { candidate: SearchCandidate | undefined };

/** Prisma's include of a collection's live versions, oldest first. */
const liveVersions = {
  versions: { where: { retiredAt: null }, orderBy: { createdAt: 'asc' } },
} as const satisfies Prisma.CollectionInclude;

/** A live version of a collection: where its points are, and of which model. */
export interface LiveVersion {
  id: string;
  model: string;
  storeKey: string;
  dimensions: number;
}

/** A collection as the vector store addresses it: its store key, and the version of its points. */
export interface CollectionVersion {
  storeKey: string;
  dimensions: number;
  version: string;
}

/**
 * A tenant's vector collections: found by name for the tenant, created with a tenant's first
 * stream into them, their items deleted, their version (bumped by every write to their points) and
 * their vectors read back for an embedded index's rebuild. Tenant-scoped methods take the tenant
 * id: another tenant's collection is not found, and nothing of it changes. The rebuild's methods
 * are system-scoped (the embedded index serves every tenant) and say so: `...AcrossTenants`, or by
 * store key, the store's own name for a collection, which no tenant chooses or sees.
 */
@Injectable()
export class CollectionRepository extends SqlRepository {
  private readonly byNameCache = new Map<string, { collection: RoutedCollection; expires: number }>();
  /** Bumped by every {@link forget}. */
  private generation = 0;

  constructor(private readonly prisma: PrismaService) {
    super(prisma);
  }

  /** The tenant's collections, by name. */
  list(tenantId: string): Promise<Collection[]> {
    return this.prisma.collection.findMany({ where: { tenantId }, orderBy: { name: 'asc' } });
  }

  /**
   * A collection by name (its row is the pointer to the serving version), with its rollout whose
   * candidate is complete, if any (what search routes a canary share or a shadow search to).
   * Remembered for a second: a search should not pay a database round trip for a row that
   * changes only at a cutover; this process forgets it at once when it makes one ({@link forget}),
   * other API processes within the second (they serve the previous version meanwhile, which stays
   * live: never a mix).
   */
  async byName(tenantId: string, name: string): Promise<RoutedCollection> {
    const cacheKey = `${tenantId}\u0000${name}`;
    const cached = this.byNameCache.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.collection;
    // A read that started before a cutover this process made must not cache what it read after
    // `forget`: only a read no `forget` overtook is remembered.
    const generation = this.generation;
    const row = await this.prisma.collection.findUnique({
      where: { tenantId_name: { tenantId, name } },
      include: {
        rollouts: {
          where: { state: { in: ['ready', 'canary', 'shadow'] } },
          include: { toVersion: true },
          take: 1,
        },
      },
    });
    if (!row) throw new NotFoundError('Collection', name);
    const { rollouts, ...collection } = row;
    const rollout = rollouts[0];
    const routed: RoutedCollection = {
      ...collection,
      candidate: rollout && {
        rolloutId: rollout.id,
        state: rollout.state as 'ready' | 'canary' | 'shadow',
        mode: rollout.mode,
        trafficPercent: rollout.trafficPercent,
        model: rollout.toVersion.model,
        storeKey: rollout.toVersion.storeKey,
        dimensions: rollout.toVersion.dimensions,
      },
    };
    if (generation !== this.generation) return routed;
    if (this.byNameCache.size >= 10_000) this.byNameCache.clear();
    this.byNameCache.set(cacheKey, { collection: routed, expires: Date.now() + BY_NAME_CACHE_MS });
    return routed;
  }

  /**
   * Forgets what {@link byName} remembered of a tenant's collection (this process changed it), and
   * keeps reads already under way from remembering what they read before the change.
   */
  forget(tenantId: string, name: string): void {
    this.generation += 1;
    this.byNameCache.delete(`${tenantId}\u0000${name}`);
  }

  /**
   * The collection a stream is created into, inside the stream's transaction `tx`: the tenant's
   * collection of that name, created when missing. One that exists with another model is a
   * conflict (its vectors would not be comparable).
   */
  async findOrCreate(
    tx: Prisma.TransactionClient,
    tenantId: string,
    input: { name: string; model: string; dimensions: number; storeKey: string },
  ): Promise<Collection & { versions: CollectionVersionRow[] }> {
    const collection = await tx.collection.findUnique({
      where: { tenantId_name: { tenantId, name: input.name } },
      include: liveVersions,
    });
    if (collection && collection.model !== input.model) {
      throw new ConflictError(
        `Collection ${input.name} holds ${collection.model} vectors; a stream into it must use that model`,
      );
    }
    if (collection) return collection;
    return tx.collection.create({
      data: {
        tenantId,
        name: input.name,
        model: input.model,
        dimensions: input.dimensions,
        storeKey: input.storeKey,
        // Its first version, which serves: the pointer (store key, model, dimensions) names it.
        versions: {
          create: { tenantId, model: input.model, dimensions: input.dimensions, storeKey: input.storeKey },
        },
      },
      include: liveVersions,
    });
  }

  /** A live version by id, of the tenant; undefined when retired or not theirs. */
  async versionById(tenantId: string, versionId: string): Promise<LiveVersion | undefined> {
    const [row] = await this.rows<LiveVersion>(
      `SELECT id, model, store_key AS "storeKey", dimensions FROM collection_version
       WHERE id = $1::uuid AND retired_at IS NULL AND tenant_id = $2::uuid`,
      [versionId, tenantId],
    );
    return row;
  }

  /** A collection's live versions (serving, candidate, retained previous), oldest first. */
  liveVersions(tenantId: string, collectionId: string): Promise<LiveVersion[]> {
    return this.rows<LiveVersion>(
      `SELECT id, model, store_key AS "storeKey", dimensions FROM collection_version
       WHERE collection_id = $1::uuid AND retired_at IS NULL AND tenant_id = $2::uuid
       ORDER BY created_at, id`,
      [collectionId, tenantId],
    );
  }

  /**
   * Collections' next versions by store key (system-scoped: the store's name for a collection),
   * for the index log writer: `next` bumps the version (its points changed) and runs `publish` with
   * it while the collection's row stays locked, so what `publish` appends (the index log) is in
   * version order whatever the number of processes writing; a `publish` that rejects rolls the bump
   * back. Structurally the vector store's `CollectionVersions`.
   */
  readonly versions: CollectionVersions = {
    next: <T>(storeKey: string, publish: (version: string) => Promise<T>): Promise<T> =>
      this.sql.transaction(async (tx) => publish(await this.nextVersion(storeKey, tx))),
  };

  /**
   * Bumps a collection's version inside `tx` (its row stays locked until `tx` ends); with `only`,
   * only if the store key is that tenant's collection's.
   */
  private async nextVersion(
    storeKey: string,
    tx: SqlClient,
    only?: { tenantId: string; collectionId: string },
  ): Promise<string> {
    const [row] = await this.rows<{ version: string }>(
      only
        ? `UPDATE collection_version SET version = version + 1
           WHERE store_key = $1 AND collection_id = $2::uuid AND tenant_id = $3::uuid RETURNING version`
        : 'UPDATE collection_version SET version = version + 1 WHERE store_key = $1 RETURNING version',
      only ? [storeKey, only.collectionId, only.tenantId] : [storeKey],
      tx,
    );
    if (!row) throw new Error(`collection ${storeKey} does not exist`);
    return String(row.version);
  }

  /**
   * Deletes an item of a collection ({@link markDeleted}) and runs `removePoint` in the same
   * transaction, with versions of that collection (and no other) taken inside it and the store keys
   * of every live version of the collection (the point goes from each): when removing the point (appending to
   * the index log, or deleting from a shared store) fails, the item stays as it was, so the
   * caller's retry finds it again instead of a 404 while its point stays searchable. Returns what
   * {@link markDeleted} does; nothing changes (and `removePoint` is not called) when the item is
   * not there.
   */
  async deleteFromCollection(
    tenantId: string,
    collectionId: string,
    itemId: string,
    removePoint: (versions: CollectionVersions, storeKeys: string[]) => Promise<unknown>,
  ): Promise<{ streamId: string; status: string }[]> {
    return this.sql.transaction(async (tx) => {
      // The live versions' rows first, then the item's (a backfill or dual-write takes its
      // version's row before its items, too: no deadlock): one writing the item has published its
      // point by now, and one starting later skips the deleted item.
      const live = await this.rows<{ storeKey: string }>(
        `SELECT store_key AS "storeKey" FROM collection_version
         WHERE collection_id = $1::uuid AND retired_at IS NULL AND tenant_id = $2::uuid
         ORDER BY store_key FOR NO KEY UPDATE`,
        [collectionId, tenantId],
        tx,
      );
      const deleted = await this.markDeleted(tenantId, collectionId, itemId, tx);
      if (deleted.length === 0) return deleted;
      await removePoint(
        {
          next: async (storeKey, publish) =>
            publish(await this.nextVersion(storeKey, tx, { tenantId, collectionId })),
        },
        live.map((v) => v.storeKey),
      );
      return deleted;
    });
  }

  /**
   * Marks an item of a collection deleted (whatever stream fed it) and takes it out of its
   * streams' counters, in one statement; returns its streams and former status. An item deleted
   * before it was counted embedded (queued, failed, or written and not yet indexed) leaves the
   * accepted counter (and the failed one), so it is not lag; an item still pending was never counted.
   */
  markDeleted(
    tenantId: string,
    collectionId: string,
    itemId: string,
    db: SqlClient = this.sql,
  ): Promise<{ streamId: string; status: string }[]> {
    return this.rows<{ streamId: string; status: string }>(
      `WITH target AS (
         SELECT i.stream_id, i.id, i.status,
                i.status IN ('queued', 'failed') OR (i.status = 'embedded' AND i.embedded_at IS NULL) AS uncounted
         FROM item i JOIN stream s ON s.id = i.stream_id
         WHERE s.collection_id = $1::uuid AND i.id = $2 AND i.status <> 'deleted' AND s.tenant_id = $3::uuid
         FOR UPDATE OF i
       ), deleted AS (
         UPDATE item SET status = 'deleted', vector = NULL FROM target
         WHERE item.stream_id = target.stream_id AND item.id = target.id
         RETURNING item.stream_id, item.id, target.status, target.uncounted
       ), other_versions AS (
         DELETE FROM item_vector USING deleted
         WHERE item_vector.stream_id = deleted.stream_id AND item_vector.item_id = deleted.id
       ), counted AS (
         UPDATE stream SET
           accepted_count = accepted_count - d.unembedded,
           failed_count = failed_count - d.failed
         FROM (
           SELECT stream_id,
                  count(*) FILTER (WHERE uncounted) AS unembedded,
                  count(*) FILTER (WHERE status = 'failed') AS failed
           FROM deleted GROUP BY stream_id
         ) AS d
         WHERE stream.id = d.stream_id
       )
       SELECT stream_id AS "streamId", status::text AS status FROM deleted`,
      [collectionId, itemId, tenantId],
      db,
    );
  }

  /**
   * Every vector of one version of a collection, in pages ordered by stream and item id: an item's
   * own vector where the item was embedded with the version's model (`item.model`), else its
   * vector by that version (`item_vector`: a backfill or a dual-write). Items without one yet, or
   * deleted, are absent. System-scoped by version id (the caller found the version first).
   */
  async *versionVectors(versionId: string, pageSize = 2000): AsyncGenerator<StoredVector[]> {
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
        `SELECT i.id AS "itemId", i.stream_id AS "streamId", i.text, i.metadata,
                ${VECTOR_BY_VERSION_SQL} AS vector
         FROM collection_version v
         JOIN stream s ON s.collection_id = v.collection_id AND s.tenant_id = v.tenant_id
         JOIN item i ON i.stream_id = s.id
         LEFT JOIN item_vector iv ON iv.version_id = v.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id
         WHERE v.id = $1::uuid AND (i.stream_id, i.id) > ($2::uuid, $3) AND ${HAS_VECTOR_BY_VERSION_SQL}
         ORDER BY i.stream_id, i.id LIMIT $4`,
        [versionId, afterStream, afterId, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({ ...r, vector: vectorFrom(r.vector) }));
      const last = rows[rows.length - 1]!;
      afterStream = last.streamId;
      afterId = last.itemId;
      if (rows.length < pageSize) return;
    }
  }

  /** Every vector of a tenant's collection by its serving version, in pages (ordered by stream and item id). */
  async *collectionVectors(
    tenantId: string,
    collectionId: string,
    pageSize = 2000,
  ): AsyncGenerator<StoredVector[]> {
    const [serving] = await this.rows<{ id: string }>(
      `SELECT v.id FROM collection c JOIN collection_version v ON v.store_key = c.store_key
       WHERE c.id = $1::uuid AND c.tenant_id = $2::uuid`,
      [collectionId, tenantId],
    );
    if (serving) yield* this.versionVectors(serving.id, pageSize);
  }

  /**
   * Every live version of every collection with its points' version (system-scoped: what the
   * embedded store reconciles; a retired version's index is not among them).
   */
  async versionsAcrossTenants(): Promise<CollectionVersion[]> {
    const [rows, spaces] = await Promise.all([
      this.prisma.collectionVersion.findMany({
        where: { retiredAt: null },
        select: { storeKey: true, dimensions: true, version: true },
      }),
      // A version's derived spaces (stream kinds') live and retire with it.
      this.prisma.spaceIndex.findMany({
        where: { collectionVersion: { retiredAt: null } },
        select: { storeKey: true, dimensions: true, version: true },
      }),
    ]);
    return [...rows, ...spaces].map((r) => ({
      storeKey: r.storeKey,
      dimensions: r.dimensions,
      version: String(r.version),
    }));
  }

  /** The points' version of the live collection version with this store key (system-scoped); undefined when there is none. */
  async versionByStoreKey(storeKey: string): Promise<string | undefined> {
    const row = await this.prisma.collectionVersion.findUnique({
      where: { storeKey },
      select: { version: true, retiredAt: true },
    });
    if (row) return !row.retiredAt ? String(row.version) : undefined;
    const space = await this.prisma.spaceIndex.findUnique({
      where: { storeKey },
      select: { version: true, collectionVersion: { select: { retiredAt: true } } },
    });
    return space && !space.collectionVersion.retiredAt ? String(space.version) : undefined;
  }

  /**
   * Every vector of the live collection version with this store key, in pages (system-scoped: an
   * embedded index rebuilt from PostgreSQL); nothing when there is no such version.
   */
  async *vectorsByStoreKey(storeKey: string, pageSize = 2000): AsyncGenerator<StoredVector[]> {
    const row = await this.prisma.collectionVersion.findUnique({
      where: { storeKey },
      select: { id: true, retiredAt: true },
    });
    if (row) {
      if (!row.retiredAt) yield* this.versionVectors(row.id, pageSize);
      return;
    }
    const space = await this.prisma.spaceIndex.findUnique({
      where: { storeKey },
      select: { id: true, collectionVersion: { select: { retiredAt: true } } },
    });
    if (space && !space.collectionVersion.retiredAt) yield* this.spaceVectors(space.id, pageSize);
  }

  /**
   * Every derived vector of a space, in pages ordered by stream and key, with what its point's
   * payload is made of: a context vector carries its message's text and metadata, a document's
   * vector none; both their group and how many vectors they came from.
   */
  private async *spaceVectors(spaceId: string, pageSize: number): AsyncGenerator<StoredVector[]> {
    let afterStream = '00000000-0000-0000-0000-000000000000';
    let afterKey = '';
    for (;;) {
      const rows = await this.rows<StoredVector & { vector: Uint8Array }>(
        `SELECT d.key AS "itemId", d.stream_id AS "streamId", coalesce(i.text, '') AS text,
                i.metadata, d.vector, d.group_id AS "groupId", d.members
         FROM derived_vector d
         JOIN space_index x ON x.id = d.space_id
         LEFT JOIN item i ON x.space = 'context' AND i.stream_id = d.stream_id AND i.id = d.key
         WHERE d.space_id = $1::uuid AND (d.stream_id, d.key) > ($2::uuid, $3)
         ORDER BY d.stream_id, d.key LIMIT $4`,
        [spaceId, afterStream, afterKey, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({ ...r, vector: vectorFrom(r.vector) }));
      const last = rows[rows.length - 1]!;
      afterStream = last.streamId;
      afterKey = last.itemId;
      if (rows.length < pageSize) return;
    }
  }
}
