import { Injectable } from '@nestjs/common';
import type { SqlClient } from '../sql-client';
import type { CollectionVersions } from './collection.repository';
import { SqlRepository } from './sql-repository';
import { packedVectors, vectorFrom } from './vector-bytes';
import { HAS_VECTOR_BY_VERSION_LOOKUP_SQL, VECTOR_BY_VERSION_LOOKUP_SQL } from './version-vector-sql';

/** The search spaces stream kinds derive from their items' vectors. */
export const derivedSpaces = ['context', 'documents'] as const;
export type DerivedSpace = (typeof derivedSpaces)[number];

/**
 * A space's store key: its version's, with the space after it. Version keys end with the model's
 * name (`…--use-lite-1`), which no model names `space-…`, so a space key never equals a version key.
 */
export function spaceStoreKey(versionStoreKey: string, space: DerivedSpace): string {
  return `${versionStoreKey}--space-${space}`;
}

/** A derived space's index: where its points go. */
export interface SpaceRef {
  id: string;
  storeKey: string;
  dimensions: number;
}

/** A collection version, as a space is derived from it. */
export interface SpaceVersion {
  id: string;
  storeKey: string;
  dimensions: number;
}

/** A member of a group (a message of a conversation, a sentence of a document) with its vector by one version. */
export interface GroupMember {
  id: string;
  sequence: number;
  text: string;
  metadata: unknown;
  vector: Float32Array;
}

/** A derived vector to write: its key in the space, its group, and how many vectors it came from. */
export interface DerivedWrite {
  key: string;
  groupId: string;
  vector: Float32Array;
  members: number;
}

/** A stored item's group and place in it (a null group: not a member of any). */
export interface Membership {
  streamId: string;
  itemId: string;
  groupId: string | null;
  sequence: number | null;
}

/**
 * The derived search spaces (`space_index`) and their vectors (`derived_vector`): computed by the
 * stream kinds' stage from stored item vectors of one collection version, written and published
 * inside one transaction that holds the groups (conversations, documents) they belong to, so that
 * two workers updating one group never interleave their reads and writes. A space lives and is
 * retired with its version. Tenant-scoped methods take the tenant id; rebuild reads (in
 * `CollectionRepository`) are by store key.
 */
@Injectable()
export class SpaceRepository extends SqlRepository {
  private readonly ensured = new Map<string, SpaceRef>();

  /** The space of a version, created on first use (one per version and space, whoever asks first). */
  async ensure(tenantId: string, version: SpaceVersion, space: DerivedSpace): Promise<SpaceRef> {
    const cacheKey = `${version.id}\u0000${space}`;
    const known = this.ensured.get(cacheKey);
    if (known) return known;
    const storeKey = spaceStoreKey(version.storeKey, space);
    await this.rows(
      `INSERT INTO space_index (id, tenant_id, version_id, space, store_key, dimensions)
       SELECT gen_random_uuid(), $1::uuid, v.id, $3, $4, v.dimensions FROM collection_version v
       WHERE v.id = $2::uuid AND v.tenant_id = $1::uuid
       ON CONFLICT (version_id, space) DO NOTHING`,
      [tenantId, version.id, space, storeKey],
    );
    const [row] = await this.rows<SpaceRef>(
      `SELECT id, store_key AS "storeKey", dimensions FROM space_index
       WHERE version_id = $1::uuid AND space = $2 AND tenant_id = $3::uuid`,
      [version.id, space, tenantId],
    );
    if (!row) throw new Error(`collection version ${version.id} is not the tenant's`);
    if (this.ensured.size >= 10_000) this.ensured.clear();
    this.ensured.set(cacheKey, row);
    return row;
  }

  /** The kind and stored settings of the tenant's streams (a stage batch's), by id. */
  async streamKinds(
    tenantId: string,
    streamIds: string[],
  ): Promise<{ id: string; kind: string; settings: unknown }[]> {
    if (streamIds.length === 0) return [];
    return this.rows<{ id: string; kind: string; settings: unknown }>(
      `SELECT id, kind::text AS kind, settings FROM stream WHERE id = ANY($1::uuid[]) AND tenant_id = $2::uuid`,
      [streamIds, tenantId],
    );
  }

  /** Where the items are in their groups (the written items of a stage batch), of the tenant's stream. */
  memberships(tenantId: string, items: { streamId: string; itemId: string }[]): Promise<Membership[]> {
    if (items.length === 0) return Promise.resolve([]);
    return this.rows<Membership>(
      `SELECT i.stream_id AS "streamId", i.id AS "itemId", i.group_id AS "groupId", i.sequence
       FROM unnest($1::uuid[], $2::text[]) AS t(stream_id, id)
       JOIN item i ON i.stream_id = t.stream_id AND i.id = t.id
       WHERE i.tenant_id = $3::uuid`,
      [items.map((i) => i.streamId), items.map((i) => i.itemId), tenantId],
    );
  }

  /**
   * Runs `work` in a transaction holding groups of a space (transaction-scoped advisory locks,
   * taken in key order so that two transactions never wait on each other in a circle): whoever
   * updates one of them next reads what this one wrote. The statements `work` runs after the locks
   * see every item vector committed before they were taken.
   */
  inGroups<T>(
    space: SpaceRef,
    streamId: string,
    groupIds: string[],
    work: (tx: SqlClient) => Promise<T>,
  ): Promise<T> {
    const keys = [...new Set(groupIds)].sort().map((g) => JSON.stringify(['space', space.id, streamId, g]));
    return this.sql.transaction(async (tx) => {
      await this.rows(
        `SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0)))
         FROM (SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n) AS ordered`,
        [keys],
        tx,
      );
      return work(tx);
    });
  }

  /**
   * Members of groups of the tenant's stream that have a vector by the version, each group's in
   * order (sequence, then id), with their vectors, in one query: of a group given `fromSequence`,
   * those from that sequence on and the `before` members just before them (a conversation's
   * windows); of one without, all of them (a document's sentences); at most `limit` a group.
   * Texts and metadata (what a derived point shows) only with `texts`, and only of the members
   * from `fromSequence` on (those read before it serve as context only): empty otherwise.
   */
  async members(
    tx: SqlClient,
    tenantId: string,
    versionId: string,
    streamId: string,
    groups: { groupId: string; fromSequence?: number }[],
    options: { before?: number; limit?: number; texts?: boolean } = {},
  ): Promise<Map<string, GroupMember[]>> {
    const member = (texts: boolean) => `i.id, i.sequence,
         ${texts ? 'i.text, i.metadata' : `'' AS text, NULL::jsonb AS metadata`},
         ${VECTOR_BY_VERSION_LOOKUP_SQL} AS vector
         FROM collection_version v
         JOIN item i ON i.stream_id = $3::uuid AND i.group_id = g.group_id
         WHERE v.id = $1::uuid AND v.tenant_id = $2::uuid AND i.tenant_id = $2::uuid
           AND ${HAS_VECTOR_BY_VERSION_LOOKUP_SQL}`;
    type Row = Omit<GroupMember, 'vector'> & { groupId: string; vector: Uint8Array };
    const rows = await this.rows<Row>(
      `WITH g AS (
         SELECT * FROM unnest($4::text[], $5::int[]) WITH ORDINALITY AS t(group_id, from_sequence, n)
       )
       SELECT g.group_id AS "groupId", m.id, m.sequence, m.text, m.metadata, m.vector
       FROM g CROSS JOIN LATERAL (
         SELECT * FROM (
           SELECT 0 AS part, -row_number() OVER (ORDER BY i.sequence DESC, i.id DESC) AS rank, ${member(false)}
             AND g.from_sequence IS NOT NULL AND i.sequence < g.from_sequence
           ORDER BY i.sequence DESC, i.id DESC LIMIT $6
         ) AS earlier
         UNION ALL
         SELECT * FROM (
           SELECT 1 AS part, row_number() OVER (ORDER BY i.sequence, i.id) AS rank, ${member(options.texts ?? false)}
             AND (g.from_sequence IS NULL OR i.sequence >= g.from_sequence)
           ORDER BY i.sequence, i.id LIMIT $7
         ) AS later
       ) AS m
       ORDER BY g.n, m.part, m.rank`,
      [
        versionId,
        tenantId,
        streamId,
        groups.map((g) => g.groupId),
        groups.map((g) => g.fromSequence ?? null),
        options.before ?? 0,
        options.limit ?? 100_000,
      ],
      tx,
    );
    const byGroup = new Map<string, GroupMember[]>(groups.map((g) => [g.groupId, []]));
    for (const { groupId, vector, ...rest } of rows)
      byGroup.get(groupId)!.push({ ...rest, vector: vectorFrom(vector) });
    return byGroup;
  }

  /**
   * Writes derived vectors of one stream into a space and runs `publish` (their points to the
   * space's index) with the space's points' versions taken inside the same transaction `tx`;
   * `remove` keys are deleted from it (a message that left its conversation).
   */
  async write(
    tx: SqlClient,
    space: SpaceRef,
    streamId: string,
    writes: DerivedWrite[],
    publish: (versions: CollectionVersions) => Promise<void>,
  ): Promise<void> {
    if (writes.length === 0) return;
    const { bytes, width } = packedVectors(
      writes.map((w) => w.vector),
      'SpaceRepository.write',
    );
    await this.rows(
      `INSERT INTO derived_vector (space_id, stream_id, key, group_id, vector, members, updated_at)
       SELECT $1::uuid, $2::uuid, t.key, t.group_id,
              substring($5::bytea FROM ((t.n - 1) * $6::int + 1)::int FOR $6::int), t.members, now()
       FROM unnest($3::text[], $4::text[], $7::int[]) WITH ORDINALITY AS t(key, group_id, members, n)
       ON CONFLICT (space_id, stream_id, key) DO UPDATE
         SET vector = EXCLUDED.vector, members = EXCLUDED.members, group_id = EXCLUDED.group_id, updated_at = now()`,
      [
        space.id,
        streamId,
        writes.map((w) => w.key),
        writes.map((w) => w.groupId),
        bytes,
        width,
        writes.map((w) => w.members),
      ],
      tx,
    );
    await publish(this.versionsIn(tx, space));
  }

  /** Deletes derived vectors by key and runs `publish` (the points' removal) in `tx`; returns the keys deleted. */
  async remove(
    tx: SqlClient,
    space: SpaceRef,
    streamId: string,
    keys: string[],
    publish: (versions: CollectionVersions, keys: string[]) => Promise<void>,
  ): Promise<string[]> {
    if (keys.length === 0) return [];
    const rows = await this.rows<{ key: string }>(
      `DELETE FROM derived_vector WHERE space_id = $1::uuid AND stream_id = $2::uuid AND key = ANY($3::text[])
       RETURNING key`,
      [space.id, streamId, keys],
      tx,
    );
    const removed = rows.map((r) => r.key);
    if (removed.length > 0) await publish(this.versionsIn(tx, space), removed);
    return removed;
  }

  /** The space's points' next versions, taken inside `tx` (held until it ends). */
  private versionsIn(tx: SqlClient, space: SpaceRef): CollectionVersions {
    return {
      next: async (storeKey, run) => {
        const [row] = await this.rows<{ version: string }>(
          `UPDATE space_index SET version = version + 1 WHERE id = $1::uuid AND store_key = $2 RETURNING version`,
          [space.id, storeKey],
          tx,
        );
        if (!row) throw new Error(`space ${space.id} has no store key ${storeKey}`);
        return run(String(row.version));
      },
    };
  }

  /**
   * A group of the tenant's stream as a tenant reads it, by its collection's serving version: how
   * many members it has stored (not deleted), the last sequence, up to `limit` members in order
   * (the last ones with `newest`), and the derived vector of the space: the group's own
   * (documents), or the context of its last member that has one (conversations). Undefined when the
   * group has no member (or the stream is not the tenant's).
   */
  async group(
    tenantId: string,
    streamId: string,
    groupId: string,
    space: DerivedSpace,
    options: { limit: number; newest: boolean },
  ): Promise<
    | {
        count: number;
        lastSequence: number | null;
        members: { id: string; sequence: number | null; text: string }[];
        vector: Float32Array | null;
        vectorMembers: number | null;
      }
    | undefined
  > {
    const [summary] = await this.rows<{
      count: number;
      lastSequence: number | null;
      vector: Uint8Array | null;
      vectorMembers: number | null;
    }>(
      `WITH st AS (
         SELECT s.id, v.id AS version_id FROM stream s
         JOIN collection c ON c.id = s.collection_id
         JOIN collection_version v ON v.store_key = c.store_key
         WHERE s.id = $1::uuid AND s.tenant_id = $2::uuid
       ), m AS (
         SELECT i.id, i.sequence FROM item i JOIN st ON i.stream_id = st.id
         WHERE i.group_id = $3 AND i.status <> 'deleted'
       ), d AS (
         SELECT dv.vector, dv.members FROM st
         JOIN space_index x ON x.version_id = st.version_id AND x.space = $4
         JOIN derived_vector dv ON dv.space_id = x.id AND dv.stream_id = st.id
         LEFT JOIN m ON m.id = dv.key
         WHERE dv.group_id = $3 AND ($4 = 'documents' OR m.id IS NOT NULL)
         ORDER BY m.sequence DESC NULLS LAST, m.id DESC LIMIT 1
       )
       SELECT (SELECT count(*) FROM m)::int AS count, (SELECT max(sequence) FROM m) AS "lastSequence",
              (SELECT vector FROM d) AS vector, (SELECT members FROM d) AS "vectorMembers"`,
      [streamId, tenantId, groupId, space],
    );
    if (!summary || summary.count === 0) return undefined;
    const members = await this.rows<{ id: string; sequence: number | null; text: string }>(
      `SELECT id, sequence, text FROM item
       WHERE stream_id = $1::uuid AND tenant_id = $2::uuid AND group_id = $3 AND status <> 'deleted'
       ORDER BY sequence ${options.newest ? 'DESC' : 'ASC'}, id ${options.newest ? 'DESC' : 'ASC'} LIMIT $4`,
      [streamId, tenantId, groupId, options.limit],
    );
    if (options.newest) members.reverse();
    return {
      count: summary.count,
      lastSequence: summary.lastSequence,
      members,
      vector: summary.vector ? vectorFrom(summary.vector) : null,
      vectorMembers: summary.vectorMembers,
    };
  }

  /**
   * The stream kinds of a tenant's collection's streams (a derived space is searched only where a
   * stream of its kind feeds the collection).
   */
  async collectionKinds(tenantId: string, collectionId: string): Promise<string[]> {
    const rows = await this.rows<{ kind: string }>(
      `SELECT DISTINCT kind::text AS kind FROM stream WHERE collection_id = $1::uuid AND tenant_id = $2::uuid`,
      [collectionId, tenantId],
    );
    return rows.map((r) => r.kind);
  }
}
