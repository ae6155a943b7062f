import { Injectable } from '@nestjs/common';
import { ConflictError, NotFoundError } from '@tributary/contracts';
import type { Collection, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import type { SqlClient } from '../sql-client';
import { SqlRepository } from './sql-repository';
import { vectorFrom } from './vector-bytes';

/** An embedded item's vector as PostgreSQL holds it, with what its point's payload is made of. */
export interface StoredVector {
  itemId: string;
  streamId: string;
  text: string;
  metadata: unknown;
  vector: Float32Array;
}

/**
 * Takes a collection's next version and runs `publish` with it while the version is held (the
 * vector store's `CollectionVersions`, which this library does not import).
 */
export interface CollectionVersions {
  next<T>(storeKey: string, publish: (version: string) => Promise<T>): Promise<T>;
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
  private readonly byNameCache = new Map<string, { collection: Collection; expires: number }>();

  constructor(private readonly prisma: PrismaService) {
    super(prisma);
  }

  /** The tenant's collections, by name. */
  list(tenantId: string): Promise<Collection[]> {
    return this.prisma.collection.findMany({ where: { tenantId }, orderBy: { name: 'asc' } });
  }

  /**
   * A collection by name. Remembered for a few seconds: a search should not pay a database round
   * trip for a row that does not change once created (model, dimensions and store key are fixed).
   */
  async byName(tenantId: string, name: string): Promise<Collection> {
    const cacheKey = `${tenantId}\u0000${name}`;
    const cached = this.byNameCache.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.collection;
    const collection = await this.prisma.collection.findUnique({
      where: { tenantId_name: { tenantId, name } },
    });
    if (!collection) throw new NotFoundError('Collection', name);
    if (this.byNameCache.size >= 10_000) this.byNameCache.clear();
    this.byNameCache.set(cacheKey, { collection, expires: Date.now() + 5_000 });
    return collection;
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
  ): Promise<Collection> {
    const collection = await tx.collection.findUnique({
      where: { tenantId_name: { tenantId, name: input.name } },
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
      },
    });
  }

  /** Where a worker writes a collection's points; undefined when the tenant has no such collection. */
  async storeRef(
    tenantId: string,
    collectionId: string,
  ): Promise<{ storeKey: string; dimensions: number } | undefined> {
    return (
      (await this.prisma.collection.findFirst({
        where: { id: collectionId, tenantId },
        select: { storeKey: true, dimensions: true },
      })) ?? undefined
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
        ? `UPDATE collection SET version = version + 1
           WHERE store_key = $1 AND id = $2::uuid AND tenant_id = $3::uuid RETURNING version`
        : 'UPDATE collection SET version = version + 1 WHERE store_key = $1 RETURNING version',
      only ? [storeKey, only.collectionId, only.tenantId] : [storeKey],
      tx,
    );
    if (!row) throw new Error(`collection ${storeKey} does not exist`);
    return String(row.version);
  }

  /**
   * Deletes an item of a collection ({@link markDeleted}) and runs `removePoint` in the same
   * transaction, with versions of that collection (and no other) taken inside it: when removing the point (appending to
   * the index log, or deleting from a shared store) fails, the item stays as it was, so the
   * caller's retry finds it again instead of a 404 while its point stays searchable. Returns what
   * {@link markDeleted} does; nothing changes (and `removePoint` is not called) when the item is
   * not there.
   */
  async deleteFromCollection(
    tenantId: string,
    collectionId: string,
    itemId: string,
    removePoint: (versions: CollectionVersions) => Promise<unknown>,
  ): Promise<{ streamId: string; status: string }[]> {
    return this.sql.transaction(async (tx) => {
      const deleted = await this.markDeleted(tenantId, collectionId, itemId, tx);
      if (deleted.length === 0) return deleted;
      await removePoint({
        next: async (storeKey, publish) =>
          publish(await this.nextVersion(storeKey, tx, { tenantId, collectionId })),
      });
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
         RETURNING item.stream_id, target.status, target.uncounted
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

  /** Every embedded vector of a tenant's collection, in pages (ordered by stream and item id). */
  async *collectionVectors(
    tenantId: string,
    collectionId: string,
    pageSize = 2000,
  ): AsyncGenerator<StoredVector[]> {
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
           AND s.tenant_id = $5::uuid
         ORDER BY i.stream_id, i.id LIMIT $4`,
        [collectionId, afterStream, afterId, pageSize, tenantId],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({ ...r, vector: vectorFrom(r.vector) }));
      const last = rows[rows.length - 1]!;
      afterStream = last.streamId;
      afterId = last.itemId;
      if (rows.length < pageSize) return;
    }
  }

  /** Every collection of every tenant with its version (system-scoped: what the embedded store reconciles). */
  async versionsAcrossTenants(): Promise<CollectionVersion[]> {
    const rows = await this.prisma.collection.findMany({
      select: { storeKey: true, dimensions: true, version: true },
    });
    return rows.map((r) => ({ storeKey: r.storeKey, dimensions: r.dimensions, version: String(r.version) }));
  }

  /** The version of the collection with this store key (system-scoped); undefined when there is none. */
  async versionByStoreKey(storeKey: string): Promise<string | undefined> {
    const row = await this.prisma.collection.findUnique({
      where: { storeKey },
      select: { version: true },
    });
    return row ? String(row.version) : undefined;
  }

  /**
   * Every embedded vector of the collection with this store key, in pages (system-scoped: an
   * embedded index rebuilt from PostgreSQL); nothing when there is no such collection.
   */
  async *vectorsByStoreKey(storeKey: string, pageSize = 2000): AsyncGenerator<StoredVector[]> {
    const row = await this.prisma.collection.findUnique({
      where: { storeKey },
      select: { id: true, tenantId: true },
    });
    if (!row) return;
    yield* this.collectionVectors(row.tenantId, row.id, pageSize);
  }
}
