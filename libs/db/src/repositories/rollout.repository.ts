import { Injectable } from '@nestjs/common';
import {
  activeRolloutStates,
  ConflictError,
  NotFoundError,
  promotableRolloutStates,
  servingStateFor,
  ValidationError,
  type RolloutComparison,
  type RolloutMode,
} from '@tributary/contracts';
import type { CollectionVersion, Prisma, Rollout } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { AuditRepository, type Actor } from './audit.repository';
import type { SqlClient } from '../sql-client';
import { isUniqueViolation } from '../unique-violation';
import { SqlRepository } from './sql-repository';

export type RolloutWithCollection = Rollout & { collection: { name: string } };

/** A stored input the backfill embeds. */
export interface BackfillInput {
  streamId: string;
  itemId: string;
  text: string;
}

/** What a cutover changed, for the caller to finish in the vector store. */
export interface CutoverResult {
  rollout: RolloutWithCollection;
  /** Store keys of versions retired by the change: their indexes are to be removed. */
  retired: string[];
  /** The serving version after the change. */
  serving: { model: string; storeKey: string };
}

const withCollection = { collection: { select: { name: true } } } as const satisfies Prisma.RolloutInclude;

const ACTIVE = activeRolloutStates as readonly string[];

/**
 * Rollouts and their state machine in PostgreSQL (every transition checked and made in one
 * transaction, on a locked row or by a conditional update, so two callers racing get one winner
 * and the other a clear conflict), the backfill's cursor, the
 * cutover (the collection row is the pointer to the serving version: promote and rollback move it
 * in one transaction with the rollout and the streams' model) and retirement of versions, with an
 * audit event for every change. Tenant-scoped by the tenant id given; the worker's backfill and the
 * retention sweep are system-scoped and say so.
 */
@Injectable()
export class RolloutRepository extends SqlRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly auditLog: AuditRepository,
  ) {
    super(prisma);
  }

  /**
   * Starts a rollout of a tenant's collection to `to`: the candidate version (a new physical index,
   * `storeKey`) and the rollout, in one transaction. One active rollout per collection (409); the
   * collection already serving `to`, or holding it as a retained previous version, is a 422/409.
   */
  async create(input: {
    tenantId: string;
    collectionId: string;
    to: { model: string; dimensions: number; storeKey: string };
    mode: RolloutMode;
    trafficPercent: number;
    autoRollbackBelowOverlap?: number | undefined;
    fleetId?: string | undefined;
    actor: Actor;
  }): Promise<RolloutWithCollection> {
    try {
      return await this.prisma.$transaction(async (tx) => {
        // The collection row locked: a cutover or another start waits for this one.
        const [collection] = await tx.$queryRawUnsafe<{ name: string; model: string; store_key: string }[]>(
          'SELECT name, model, store_key FROM collection WHERE id = $1::uuid AND tenant_id = $2::uuid FOR UPDATE',
          input.collectionId,
          input.tenantId,
        );
        if (!collection) throw new NotFoundError('Collection', input.collectionId);
        if (collection.model === input.to.model) {
          throw new ValidationError(`Collection ${collection.name} is already served by ${input.to.model}`, [
            { path: 'model', message: 'the candidate must differ from the serving version' },
          ]);
        }
        const active = await tx.rollout.findFirst({
          where: { collectionId: input.collectionId, state: { in: [...activeRolloutStates] } },
          select: { id: true, state: true },
        });
        if (active) {
          throw new ConflictError(
            `Collection ${collection.name} already has a rollout going (${active.id}, ${active.state}); promote or roll it back first`,
          );
        }
        const from = await tx.collectionVersion.findUnique({ where: { storeKey: collection.store_key } });
        if (!from) throw new Error(`collection ${input.collectionId} has no serving version`);
        const retained = await tx.collectionVersion.findFirst({
          where: { collectionId: input.collectionId, model: input.to.model, retiredAt: null },
        });
        if (retained) {
          throw new ConflictError(
            `Collection ${collection.name} still holds ${input.to.model} as the version a promotion retained; roll that rollout back instead`,
          );
        }
        const candidate = await tx.collectionVersion.create({
          data: {
            collectionId: input.collectionId,
            tenantId: input.tenantId,
            model: input.to.model,
            dimensions: input.to.dimensions,
            storeKey: input.to.storeKey,
          },
        });
        const [{ total }] = (await tx.$queryRawUnsafe<{ total: number }[]>(
          `SELECT count(*)::int AS total FROM item i JOIN stream s ON s.id = i.stream_id
           WHERE s.collection_id = $1::uuid AND s.tenant_id = $2::uuid AND i.status NOT IN ('deleted', 'failed')`,
          input.collectionId,
          input.tenantId,
        )) as [{ total: number }];
        const rollout = await tx.rollout.create({
          data: {
            tenantId: input.tenantId,
            collectionId: input.collectionId,
            fromVersionId: from.id,
            toVersionId: candidate.id,
            fromModel: from.model,
            toModel: candidate.model,
            mode: input.mode,
            trafficPercent: input.trafficPercent,
            autoRollbackBelowOverlap: input.autoRollbackBelowOverlap ?? null,
            fleetId: input.fleetId ?? null,
            backfillTotal: total,
            backfillStartedAt: new Date(),
            createdBy: input.actor,
          },
          include: withCollection,
        });
        await this.audit(tx, input.actor, input.tenantId, 'rollout.create', rollout, {
          from: from.model,
          to: candidate.model,
          mode: input.mode,
          trafficPercent: input.trafficPercent,
        });
        return rollout;
      });
    } catch (err) {
      // Two starts at once: the partial unique index keeps one.
      if (isUniqueViolation(err)) throw new ConflictError('The collection already has a rollout going');
      throw err;
    }
  }

  async get(tenantId: string, collectionId: string, id: string): Promise<RolloutWithCollection> {
    const rollout = await this.prisma.rollout.findFirst({
      where: { id, tenantId, collectionId },
      include: withCollection,
    });
    if (!rollout) throw new NotFoundError('Rollout', id);
    return rollout;
  }

  /** A collection's rollouts, newest first. */
  list(tenantId: string, collectionId: string): Promise<RolloutWithCollection[]> {
    return this.prisma.rollout.findMany({
      where: { tenantId, collectionId },
      include: withCollection,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
  }

  /** The tenant's active rollouts by collection id (for listing collections). */
  async activeByCollection(tenantId: string): Promise<Map<string, RolloutWithCollection>> {
    const rows = await this.prisma.rollout.findMany({
      where: { tenantId, state: { in: [...activeRolloutStates] } },
      include: withCollection,
    });
    return new Map(rows.map((r) => [r.collectionId, r]));
  }

  /** Moves the canary share or the mode of a rollout whose candidate is complete (409 otherwise). */
  async update(
    tenantId: string,
    collectionId: string,
    id: string,
    patch: { trafficPercent?: number | undefined; mode?: RolloutMode | undefined },
    actor: Actor,
  ): Promise<RolloutWithCollection> {
    return this.prisma.$transaction(async (tx) => {
      const current = await this.lock(tx, tenantId, collectionId, id);
      if (!(promotableRolloutStates as readonly string[]).includes(current.state)) {
        throw new ConflictError(
          `Rollout ${id} is ${current.state}; its traffic and mode can change once it is ready`,
        );
      }
      const trafficPercent = patch.trafficPercent ?? current.trafficPercent;
      const mode = patch.mode ?? current.mode;
      const rollout = await tx.rollout.update({
        where: { id },
        data: { trafficPercent, mode, state: servingStateFor(mode, trafficPercent), updatedAt: new Date() },
        include: withCollection,
      });
      await this.audit(tx, actor, tenantId, 'rollout.update', rollout, { trafficPercent, mode });
      return rollout;
    });
  }

  /**
   * Promotes a complete candidate: the collection's pointer, its streams' model and the rollout
   * change in one transaction, so every search after the commit reads the candidate and none a mix.
   * The previous version stays live (dual-written) until `retainUntil`, for an instant rollback.
   */
  async promote(
    tenantId: string,
    collectionId: string,
    id: string,
    actor: Actor,
    retainHours: number,
  ): Promise<CutoverResult> {
    return this.prisma.$transaction(async (tx) => {
      const current = await this.lock(tx, tenantId, collectionId, id);
      if (!(promotableRolloutStates as readonly string[]).includes(current.state)) {
        throw new ConflictError(
          current.state === 'backfilling'
            ? `Rollout ${id} is still backfilling (${current.backfillDone} of ${current.backfillTotal}); promote it once it is ready`
            : `Rollout ${id} is ${current.state}; only a ready, canary or shadow rollout can be promoted`,
        );
      }
      const to = await tx.collectionVersion.findUniqueOrThrow({ where: { id: current.toVersionId } });
      await this.point(tx, collectionId, to);
      const rollout = await tx.rollout.update({
        where: { id },
        data: {
          state: 'promoted',
          promotedAt: new Date(),
          updatedAt: new Date(),
          retainUntil: new Date(Date.now() + retainHours * 3_600_000),
        },
        include: withCollection,
      });
      await this.audit(tx, actor, tenantId, 'rollout.promote', rollout, { serving: to.model });
      return { rollout, retired: [], serving: { model: to.model, storeKey: to.storeKey } };
    });
  }

  /**
   * Rolls back: an active rollout's candidate is retired; a promoted one points the collection
   * back at the previous version (still live, so nothing is re-embedded) and retires the candidate,
   * as long as the previous version is retained and no later rollout of the collection started.
   */
  async rollback(
    tenantId: string,
    collectionId: string,
    id: string,
    actor: Actor,
    reason?: string,
  ): Promise<CutoverResult> {
    return this.prisma.$transaction(async (tx) => {
      const current = await this.lock(tx, tenantId, collectionId, id);
      const from = await tx.collectionVersion.findUniqueOrThrow({ where: { id: current.fromVersionId } });
      if (current.state === 'promoted') {
        if (from.retiredAt) {
          throw new ConflictError(
            `Rollout ${id} was promoted and its previous version ${from.model} was retired; start a new rollout to it instead`,
          );
        }
        const later = await tx.rollout.findFirst({
          where: { collectionId, createdAt: { gt: current.createdAt }, id: { not: id } },
          select: { id: true },
        });
        if (later) {
          throw new ConflictError(
            `Rollout ${later.id} of this collection started after ${id}; roll that one back instead`,
          );
        }
        await this.point(tx, collectionId, from);
      } else if (!ACTIVE.includes(current.state)) {
        throw new ConflictError(`Rollout ${id} is ${current.state}; there is nothing to roll back`);
      }
      const retired = await this.retireVersion(tx, current.toVersionId);
      const rollout = await tx.rollout.update({
        where: { id },
        data: { state: 'rolled_back', endedAt: new Date(), updatedAt: new Date(), retainUntil: null },
        include: withCollection,
      });
      await this.audit(tx, actor, tenantId, 'rollout.rollback', rollout, {
        serving: from.model,
        ...(reason ? { reason } : {}),
      });
      return { rollout, retired, serving: { model: from.model, storeKey: from.storeKey } };
    });
  }

  /** Marks an active rollout failed (its candidate retired); false when it was no longer active. */
  async fail(rolloutId: string, reason: string): Promise<{ failed: boolean; retired: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      const [row] = await tx.$queryRawUnsafe<{ to_version_id: string; tenant_id: string }[]>(
        `UPDATE rollout SET state = 'failed', failure_reason = $2, ended_at = now(), updated_at = now()
         WHERE id = $1::uuid AND state::text = ANY($3::text[]) RETURNING to_version_id, tenant_id`,
        rolloutId,
        reason,
        ACTIVE,
      );
      if (!row) return { failed: false, retired: [] };
      const retired = await this.retireVersion(tx, row.to_version_id);
      await this.auditLog.record(
        {
          actor: 'system:backfill',
          tenantId: row.tenant_id,
          action: 'rollout.fail',
          target: `rollout:${rolloutId}`,
          details: { reason },
        },
        tx,
      );
      return { failed: true, retired };
    });
  }

  /**
   * Deletes up to `limit` vectors of retired versions (system-scoped, for the rollout sweep, which
   * calls it until it returns less than `limit`); returns how many went.
   */
  async purgeRetiredVectors(limit: number): Promise<number> {
    const items = await this.prisma.$executeRawUnsafe(
      `DELETE FROM item_vector WHERE (version_id, stream_id, item_id) IN (
         SELECT iv.version_id, iv.stream_id, iv.item_id FROM item_vector iv
         JOIN collection_version v ON v.id = iv.version_id
         WHERE v.retired_at IS NOT NULL LIMIT $1)`,
      limit,
    );
    if (items >= limit) return items;
    // Then the vectors of their derived spaces (stream kinds'), in the rest of the batch.
    const derived = await this.prisma.$executeRawUnsafe(
      `DELETE FROM derived_vector WHERE (space_id, stream_id, key) IN (
         SELECT d.space_id, d.stream_id, d.key FROM derived_vector d
         JOIN space_index x ON x.id = d.space_id
         JOIN collection_version v ON v.id = x.version_id
         WHERE v.retired_at IS NOT NULL LIMIT $1)`,
      limit - items,
    );
    return items + derived;
  }

  /**
   * Retires the previous versions of promotions whose retention ended (system-scoped: the
   * scheduler's sweep); returns their store keys, whose indexes are to be removed.
   */
  async retireExpired(now = new Date()): Promise<string[]> {
    return this.prisma.$transaction(async (tx) => {
      const due = await tx.rollout.findMany({
        where: { state: 'promoted', retainUntil: { lte: now }, fromVersion: { retiredAt: null } },
        select: { id: true, tenantId: true, fromVersionId: true },
      });
      const retired: string[] = [];
      for (const rollout of due) {
        retired.push(...(await this.retireVersion(tx, rollout.fromVersionId)));
        await this.auditLog.record(
          {
            actor: 'system:retention',
            tenantId: rollout.tenantId,
            action: 'version.retire',
            target: `rollout:${rollout.id}`,
          },
          tx,
        );
      }
      return retired;
    });
  }

  // --- backfill (system-scoped: the worker's backfill job names a rollout id) ---

  /** A rollout as its backfill reads it, with its candidate version; undefined when unknown. */
  async forBackfill(rolloutId: string): Promise<(Rollout & { toVersion: CollectionVersion }) | undefined> {
    return (
      (await this.prisma.rollout.findUnique({ where: { id: rolloutId }, include: { toVersion: true } })) ??
      undefined
    );
  }

  /**
   * The next page of stored inputs the backfill embeds, after the rollout's cursor: in the `scan`
   * phase every input of the collection (not deleted or failed) in key order; in `catchup`, those
   * that still have no vector by the candidate (an item accepted before the rollout whose first
   * embedding came later, a lost dual-write).
   */
  nextBackfillPage(rollout: Rollout, limit: number): Promise<BackfillInput[]> {
    const catchup = rollout.backfillPhase === 'catchup';
    return this.rows<BackfillInput>(
      `SELECT i.stream_id AS "streamId", i.id AS "itemId", i.text
       FROM item i JOIN stream s ON s.id = i.stream_id
       WHERE s.collection_id = $1::uuid AND s.tenant_id = $2::uuid AND i.status NOT IN ('deleted', 'failed')
         AND (i.stream_id, i.id) > ($3::uuid, $4)
         ${
           catchup
             ? `AND NOT (i.model = $6 AND i.status = 'embedded')
                AND NOT EXISTS (SELECT 1 FROM item_vector iv
                  WHERE iv.version_id = $7::uuid AND iv.stream_id = i.stream_id AND iv.item_id = i.id)`
             : ''
         }
       ORDER BY i.stream_id, i.id LIMIT $5`,
      [
        rollout.collectionId,
        rollout.tenantId,
        rollout.backfillCursorStream ?? '00000000-0000-0000-0000-000000000000',
        rollout.backfillCursorItem ?? '',
        limit,
        ...(catchup ? [rollout.toModel, rollout.toVersionId] : []),
      ],
    );
  }

  /**
   * Moves the backfill's cursor past a page (inside the page's write transaction `tx`, so a crash
   * resumes exactly after what was written) and counts it, if the cursor is still where `rollout`
   * read it: false when another delivery of the job moved it first, or the rollout is no longer
   * backfilling (rolled back meanwhile); the caller then rolls its page back.
   */
  async advanceBackfill(
    tx: SqlClient,
    rollout: Pick<Rollout, 'id' | 'backfillPhase' | 'backfillCursorStream' | 'backfillCursorItem'>,
    last: { streamId: string; itemId: string },
    count: number,
  ): Promise<boolean> {
    const { rows } = await tx.query(
      `UPDATE rollout SET backfill_cursor_stream = $2::uuid, backfill_cursor_item = $3,
         backfill_done = backfill_done + $4,
         -- Items accepted after the start that sort after the cursor are backfilled too.
         backfill_total = GREATEST(backfill_total, backfill_done + $4),
         updated_at = now()
       WHERE id = $1::uuid AND state = 'backfilling' AND backfill_phase = $5
         AND backfill_cursor_stream IS NOT DISTINCT FROM $6::uuid AND backfill_cursor_item IS NOT DISTINCT FROM $7
       RETURNING 1`,
      [
        rollout.id,
        last.streamId,
        last.itemId,
        count,
        rollout.backfillPhase,
        rollout.backfillCursorStream,
        rollout.backfillCursorItem,
      ],
    );
    return rows.length > 0;
  }

  /**
   * The scan ended: the catch-up pass starts from the beginning; or the catch-up ended: the
   * candidate is complete and the rollout becomes ready (or canary, or shadow, as asked). Returns
   * the new state, or undefined when it was no longer backfilling in the phase `rollout` was read
   * in: two deliveries of the job that both read the scan's end move it once, so the second does
   * not take the catch-up the first just started for its end (and skip what it has to write).
   */
  async finishBackfillPhase(
    rollout: Pick<Rollout, 'id' | 'backfillPhase' | 'mode' | 'trafficPercent'>,
  ): Promise<string | undefined> {
    // Mode and share cannot change while backfilling (update refuses): the state the candidate
    // goes to is the one they give now.
    const ready =
      rollout.backfillPhase === 'scan' ? undefined : servingStateFor(rollout.mode, rollout.trafficPercent);
    return this.sql.transaction(async (tx) => {
      const [row] = await this.rows<{ tenantId: string }>(
        ready === undefined
          ? `UPDATE rollout SET backfill_phase = 'catchup', backfill_cursor_stream = NULL,
               backfill_cursor_item = NULL, updated_at = now()
             WHERE id = $1::uuid AND state = 'backfilling' AND backfill_phase = 'scan'
             RETURNING tenant_id AS "tenantId"`
          : `UPDATE rollout SET state = $2::rollout_state, backfill_cursor_stream = NULL,
               backfill_cursor_item = NULL, backfill_total = backfill_done, backfill_finished_at = now(),
               updated_at = now()
             WHERE id = $1::uuid AND state = 'backfilling' AND backfill_phase = 'catchup'
             RETURNING tenant_id AS "tenantId"`,
        ready === undefined ? [rollout.id] : [rollout.id, ready],
        tx,
      );
      if (!row) return undefined;
      if (ready === undefined) return 'catchup';
      await this.auditLog.record(
        {
          actor: 'system:backfill',
          tenantId: row.tenantId,
          action: 'rollout.ready',
          target: `rollout:${rollout.id}`,
          details: { state: ready },
        },
        tx,
      );
      return ready;
    });
  }

  /** Store keys of retired versions and their spaces (system-scoped: their indexes are removed where still present). */
  async retiredStoreKeys(): Promise<string[]> {
    const rows = await this.prisma.collectionVersion.findMany({
      where: { retiredAt: { not: null } },
      select: { storeKey: true, spaces: { select: { storeKey: true } } },
    });
    // A version's derived spaces go with it.
    return rows.flatMap((r) => [r.storeKey, ...r.spaces.map((s) => s.storeKey)]);
  }

  /**
   * Rollouts of every tenant still backfilling, and not moved for `quietForMs` (system-scoped: the
   * sweep that restarts backfills whose job was lost).
   */
  backfillingAcrossTenants(
    quietForMs = 0,
  ): Promise<{ id: string; tenantId: string; toModel: string; backfillDone: number }[]> {
    return this.prisma.rollout.findMany({
      where: { state: 'backfilling', updatedAt: { lt: new Date(Date.now() - quietForMs) } },
      select: { id: true, tenantId: true, toModel: true, backfillDone: true },
    });
  }

  /** Rollouts whose candidate is complete, of every tenant (system-scoped: the comparison refresher). */
  comparableAcrossTenants(): Promise<
    (RolloutWithCollection & { toVersion: CollectionVersion; fromVersion: CollectionVersion })[]
  > {
    return this.prisma.rollout.findMany({
      where: { state: { in: [...promotableRolloutStates] } },
      include: { ...withCollection, toVersion: true, fromVersion: true },
    });
  }

  /**
   * Up to `limit` stored inputs of a rollout's collection used as comparison queries: a sample
   * fixed by the rollout (the same inputs each time it is computed again), not deleted or failed.
   */
  sampleInputs(
    rollout: Pick<Rollout, 'id' | 'tenantId' | 'collectionId'>,
    limit: number,
  ): Promise<BackfillInput[]> {
    return this.rows<BackfillInput>(
      `SELECT i.stream_id AS "streamId", i.id AS "itemId", i.text
       FROM item i JOIN stream s ON s.id = i.stream_id
       WHERE s.collection_id = $1::uuid AND s.tenant_id = $2::uuid AND i.status = 'embedded'
       ORDER BY md5($3 || i.stream_id::text || i.id) LIMIT $4`,
      [rollout.collectionId, rollout.tenantId, rollout.id, limit],
    );
  }

  /** Records a rollout's comparison (system-scoped by rollout id). */
  async recordComparison(rolloutId: string, comparison: RolloutComparison): Promise<void> {
    await this.prisma.rollout.updateMany({
      where: { id: rolloutId },
      data: { comparison: comparison as Prisma.InputJsonValue, updatedAt: new Date() },
    });
  }

  /**
   * How many rollouts there are in each state, and the items backfills still have to embed by
   * candidate model (system-scoped: the metrics, no tenant in them).
   */
  async gauges(): Promise<{ byState: Record<string, number>; remaining: Record<string, number> }> {
    const [states, remaining] = await Promise.all([
      this.rows<{ state: string; n: number }>(
        'SELECT state::text AS state, count(*)::int AS n FROM rollout GROUP BY 1',
        [],
      ),
      this.rows<{ model: string; n: number }>(
        `SELECT to_model AS model, sum(GREATEST(backfill_total - backfill_done, 0))::int AS n
         FROM rollout WHERE state = 'backfilling' GROUP BY 1`,
        [],
      ),
    ]);
    return {
      byState: Object.fromEntries(states.map((r) => [r.state, r.n])),
      remaining: Object.fromEntries(remaining.map((r) => [r.model, r.n])),
    };
  }

  /** A fleet's rollouts, with their tenants (admin: every tenant). */
  fleet(fleetId: string): Promise<RolloutWithCollection[]> {
    return this.prisma.rollout.findMany({
      where: { fleetId },
      include: withCollection,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** Fleet rollouts, newest first: id, models and when (admin). */
  async fleets(): Promise<{ fleetId: string; createdAt: Date }[]> {
    const rows = await this.rows<{ fleetId: string; createdAt: Date }>(
      `SELECT fleet_id AS "fleetId", min(created_at) AS "createdAt" FROM rollout
       WHERE fleet_id IS NOT NULL GROUP BY fleet_id ORDER BY 2 DESC LIMIT 100`,
      [],
    );
    return rows;
  }

  /** Collections served by `model` (every tenant, or only some): what a fleet rollout starts on. */
  collectionsServedBy(
    model: string,
    tenants?: string[],
  ): Promise<{ id: string; tenantId: string; name: string }[]> {
    return this.prisma.collection.findMany({
      where: { model, ...(tenants ? { tenantId: { in: tenants } } : {}) },
      select: { id: true, tenantId: true, name: true },
      orderBy: [{ tenantId: 'asc' }, { name: 'asc' }],
    });
  }

  // --- inside transactions ---

  private async lock(
    tx: Prisma.TransactionClient,
    tenantId: string,
    collectionId: string,
    id: string,
  ): Promise<Rollout> {
    const [locked] = await tx.$queryRawUnsafe<{ id: string }[]>(
      'SELECT id FROM rollout WHERE id = $1::uuid AND tenant_id = $2::uuid AND collection_id = $3::uuid FOR UPDATE',
      id,
      tenantId,
      collectionId,
    );
    if (!locked) throw new NotFoundError('Rollout', id);
    return tx.rollout.findUniqueOrThrow({ where: { id } });
  }

  /** Points a collection (the pointer row) and its streams at a version. */
  private async point(tx: Prisma.TransactionClient, collectionId: string, version: CollectionVersion) {
    await tx.collection.update({
      where: { id: collectionId },
      data: { storeKey: version.storeKey, model: version.model, dimensions: version.dimensions },
    });
    await tx.stream.updateMany({ where: { collectionId }, data: { model: version.model } });
  }

  /**
   * Retires a version: nothing reads or writes it from then on. Its index is for the caller to
   * remove and its vectors for {@link purgeRetiredVectors}: deleting a large collection's rows here
   * held the cutover's transaction for seconds, past its timeout (a rollback answered 500).
   */
  private async retireVersion(tx: Prisma.TransactionClient, versionId: string): Promise<string[]> {
    const version = await tx.collectionVersion.updateMany({
      where: { id: versionId, retiredAt: null },
      data: { retiredAt: new Date() },
    });
    if (version.count === 0) return [];
    const { storeKey, spaces } = await tx.collectionVersion.findUniqueOrThrow({
      where: { id: versionId },
      select: { storeKey: true, spaces: { select: { storeKey: true } } },
    });
    // Its derived spaces (stream kinds') are retired with it.
    return [storeKey, ...spaces.map((s) => s.storeKey)];
  }

  private audit(
    tx: Prisma.TransactionClient,
    actor: Actor,
    tenantId: string,
    action: string,
    rollout: RolloutWithCollection,
    details: Record<string, unknown>,
  ) {
    return this.auditLog.record(
      {
        actor,
        tenantId,
        action,
        target: `collection:${rollout.collection.name}/rollout:${rollout.id}`,
        details,
      },
      tx,
    );
  }
}
