import { Injectable } from '@nestjs/common';
import type { DriftReport, Prisma, SelfCheckReport } from '../generated/prisma/client';
import { PrismaService } from '../prisma.service';
import { SqlRepository } from './sql-repository';
import { vectorFrom } from './vector-bytes';
import { HAS_VECTOR_BY_VERSION_SQL, VECTOR_BY_VERSION_SQL } from './version-vector-sql';

/** A half-open window of event time, `[from, to)`. */
export interface EventWindow {
  from: Date;
  to: Date;
}

/** A collection the quality watch looks at, with its serving version (system-scoped rows carry the tenant). */
export interface WatchedCollection {
  tenantId: string;
  collectionId: string;
  name: string;
  /** The tenant's name (the quality-watch series' optional `collection` label). */
  tenantName: string;
  /** The serving version's id and model. */
  versionId: string;
  model: string;
  dimensions: number;
  driftBaselineFrom: Date | null;
  driftBaselineTo: Date | null;
  driftVerdictMethod: string;
}

/** A stored input with its stored vector by one version. */
export interface StoredInput {
  streamId: string;
  itemId: string;
  text: string;
  vector: Float32Array;
  eventAt: Date;
}

/** What a new drift report asks. */
export interface DriftReportRequest {
  /** Its id when the caller chose one (an on-demand report's seed defaults to it). */
  id?: string;
  tenantId: string;
  collectionId: string;
  model: string;
  trigger: 'scheduled' | 'on_demand';
  reference: EventWindow;
  current: EventWindow;
  sampleSize: number;
  seed: string;
  methods: string[];
  verdictMethod: string;
}

/** A finished drift report's figures. */
export interface DriftReportOutcome {
  referenceN: number;
  currentN: number;
  results: unknown;
  drifted: boolean | null;
  note: string | null;
}

/** A self-check's figures. */
export interface SelfCheckOutcome {
  tenantId: string;
  collectionId: string;
  model: string;
  sampled: number;
  minCosine: number | null;
  meanCosine: number | null;
  threshold: number;
  belowShare: number | null;
  passed: boolean;
  worst: { streamId: string; itemId: string; cosine: number }[];
}

/** Where a topic tracker has read a collection to, in event time (keyset over event time, stream, item). */
export interface TopicCursor {
  eventAt: Date;
  streamId: string;
  itemId: string;
}

/** A topic tracker's saved state and cursor. */
export interface SavedTopicState {
  state: Buffer;
  cursor: TopicCursor | null;
}

/**
 * The one owner of the quality watch's data in PostgreSQL: windows of a collection's stored vectors
 * over event time (`item.event_at`: the client's timestamp, else when the item was accepted),
 * samples of them, drift and self-check reports, and the emerging-topic trackers' state.
 *
 * Samples are fixed by a seed: `md5(seed || stream || item)` orders a window, so the same window
 * and seed give the same sample whenever it is drawn (a report can be reproduced), and a sample of
 * n is the first n of that order. A vector by a version is on the item's row when the version's
 * model is the item's, else in `item_vector`; items without one (not embedded yet by that
 * version, deleted, failed) are not in any window.
 */
@Injectable()
export class WatchRepository extends SqlRepository {
  constructor(private readonly prisma: PrismaService) {
    super(prisma);
  }

  /** Every collection with its serving version (system-scoped: the scheduler's fan-out). */
  collectionsAcrossTenants(): Promise<WatchedCollection[]> {
    return this.rows<WatchedCollection>(
      `SELECT c.tenant_id AS "tenantId", c.id AS "collectionId", c.name, t.name AS "tenantName", v.id AS "versionId", v.model,
         v.dimensions, c.drift_baseline_from AS "driftBaselineFrom", c.drift_baseline_to AS "driftBaselineTo",
         c.drift_verdict_method AS "driftVerdictMethod"
       FROM collection c JOIN collection_version v ON v.store_key = c.store_key JOIN tenant t ON t.id = c.tenant_id
       ORDER BY c.tenant_id, c.id`,
      [],
    );
  }

  /** One tenant's collection with its serving version; undefined when the tenant has none by that id. */
  async collection(tenantId: string, collectionId: string): Promise<WatchedCollection | undefined> {
    const [row] = await this.rows<WatchedCollection>(
      `SELECT c.tenant_id AS "tenantId", c.id AS "collectionId", c.name, t.name AS "tenantName", v.id AS "versionId", v.model,
         v.dimensions, c.drift_baseline_from AS "driftBaselineFrom", c.drift_baseline_to AS "driftBaselineTo",
         c.drift_verdict_method AS "driftVerdictMethod"
       FROM collection c JOIN collection_version v ON v.store_key = c.store_key JOIN tenant t ON t.id = c.tenant_id
       WHERE c.id = $1::uuid AND c.tenant_id = $2::uuid`,
      [collectionId, tenantId],
    );
    return row;
  }

  /**
   * The collection's live version by this model (serving or not: a report made before a cutover is
   * computed with the version it named), with the collection's names; undefined once retired.
   */
  async liveVersion(
    tenantId: string,
    collectionId: string,
    model: string,
  ): Promise<
    Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'versionId' | 'name' | 'tenantName'> | undefined
  > {
    const [row] = await this.rows<
      Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'versionId' | 'name' | 'tenantName'>
    >(
      `SELECT v.tenant_id AS "tenantId", v.collection_id AS "collectionId", v.id AS "versionId", c.name,
         t.name AS "tenantName"
       FROM collection_version v JOIN collection c ON c.id = v.collection_id JOIN tenant t ON t.id = v.tenant_id
       WHERE v.collection_id = $1::uuid AND v.tenant_id = $2::uuid AND v.model = $3 AND v.retired_at IS NULL`,
      [collectionId, tenantId, model],
    );
    return row;
  }

  /**
   * A seeded sample of up to `limit` stored vectors by the collection's version `versionId` whose
   * items' event time is in the window (null: any), and how many the window holds in all.
   */
  async windowSample(
    c: Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'versionId'>,
    window: EventWindow | null,
    limit: number,
    seed: string,
  ): Promise<{ total: number; inputs: StoredInput[] }> {
    const rows = await this.rows<{
      streamId: string;
      itemId: string;
      text: string;
      vector: Uint8Array;
      eventAt: Date;
      total: number;
    }>(
      `WITH inside AS (
         SELECT i.stream_id, i.id, i.text, i.event_at,
           ${VECTOR_BY_VERSION_SQL} AS vector
         FROM collection_version v
         JOIN stream s ON s.collection_id = v.collection_id AND s.tenant_id = v.tenant_id
         JOIN item i ON i.stream_id = s.id
         LEFT JOIN item_vector iv ON iv.version_id = v.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id
         WHERE v.id = $1::uuid AND v.tenant_id = $2::uuid AND v.collection_id = $3::uuid
           AND i.status = 'embedded' AND ($4::timestamptz IS NULL OR (i.event_at >= $4 AND i.event_at < $5))
           AND ${HAS_VECTOR_BY_VERSION_SQL}
       )
       SELECT stream_id AS "streamId", id AS "itemId", text, vector, event_at AS "eventAt",
         (SELECT count(*) FROM inside)::int AS total
       FROM inside ORDER BY md5($6 || stream_id::text || id) LIMIT $7`,
      [c.versionId, c.tenantId, c.collectionId, window?.from ?? null, window?.to ?? null, seed, limit],
    );
    // No row: the window is empty (a limit is at least 1).
    return {
      total: rows[0]?.total ?? 0,
      inputs: rows.map(({ total: _total, vector, ...r }) => ({ ...r, vector: vectorFrom(vector) })),
    };
  }

  /** A new drift report, running. */
  createDriftReport(request: DriftReportRequest): Promise<DriftReport> {
    return this.prisma.driftReport.create({ data: this.reportData(request) });
  }

  /**
   * A scheduled report for its window, or undefined when one exists already (a scheduled window is
   * reported once, however often the fan-out runs or a job is delivered).
   */
  async createScheduledDriftReport(request: DriftReportRequest): Promise<DriftReport | undefined> {
    const [row] = await this.rows<{ id: string }>(
      `INSERT INTO drift_report (id, tenant_id, collection_id, model, trigger, reference_from, reference_to,
         current_from, current_to, sample_size, seed, methods, verdict_method)
       VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3, 'scheduled', $4, $5, $6, $7, $8, $9, $10::text[], $11)
       ON CONFLICT (collection_id, current_from, current_to) WHERE trigger = 'scheduled' DO NOTHING
       RETURNING id`,
      [
        request.tenantId,
        request.collectionId,
        request.model,
        request.reference.from,
        request.reference.to,
        request.current.from,
        request.current.to,
        request.sampleSize,
        request.seed,
        request.methods,
        request.verdictMethod,
      ],
    );
    return row
      ? ((await this.prisma.driftReport.findUnique({ where: { id: row.id } })) ?? undefined)
      : undefined;
  }

  private reportData(request: DriftReportRequest): Prisma.DriftReportUncheckedCreateInput {
    return {
      ...(request.id ? { id: request.id } : {}),
      tenantId: request.tenantId,
      collectionId: request.collectionId,
      model: request.model,
      trigger: request.trigger,
      referenceFrom: request.reference.from,
      referenceTo: request.reference.to,
      currentFrom: request.current.from,
      currentTo: request.current.to,
      sampleSize: request.sampleSize,
      seed: request.seed,
      methods: request.methods,
      verdictMethod: request.verdictMethod,
    };
  }

  /** A running report by id (system-scoped: the worker that computes it). */
  driftReportById(id: string): Promise<DriftReport | null> {
    return this.prisma.driftReport.findUnique({ where: { id } });
  }

  /** Reports still running that were made more than `olderThanMs` ago (system-scoped: their job was lost). */
  runningDriftReports(olderThanMs: number): Promise<Pick<DriftReport, 'id' | 'tenantId'>[]> {
    return this.prisma.driftReport.findMany({
      where: { state: 'running', createdAt: { lt: new Date(Date.now() - olderThanMs) } },
      select: { id: true, tenantId: true },
      take: 1000,
    });
  }

  /** Records a report's figures; false when it was not running (another delivery finished it). */
  async finishDriftReport(id: string, outcome: DriftReportOutcome): Promise<boolean> {
    const { count } = await this.prisma.driftReport.updateMany({
      where: { id, state: 'running' },
      data: {
        state: 'done',
        referenceN: outcome.referenceN,
        currentN: outcome.currentN,
        results: outcome.results as Prisma.InputJsonValue,
        drifted: outcome.drifted,
        note: outcome.note,
        finishedAt: new Date(),
      },
    });
    return count === 1;
  }

  /** Marks a running report failed with why. */
  async failDriftReport(id: string, note: string): Promise<void> {
    await this.prisma.driftReport.updateMany({
      where: { id, state: 'running' },
      data: { state: 'failed', note: note.slice(0, 500), finishedAt: new Date() },
    });
  }

  /** A tenant's report of one of its collections; null for anything else. */
  driftReport(tenantId: string, collectionId: string, id: string): Promise<DriftReport | null> {
    return this.prisma.driftReport.findFirst({ where: { id, tenantId, collectionId } });
  }

  /** A collection's reports, newest first. */
  driftReports(tenantId: string, collectionId: string, limit: number): Promise<DriftReport[]> {
    return this.prisma.driftReport.findMany({
      where: { tenantId, collectionId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** Pins (or, with null, unpins) a collection's reference window and sets its verdict method. */
  async setDriftSettings(
    tenantId: string,
    collectionId: string,
    settings: { baseline?: EventWindow | null; verdictMethod?: string },
  ): Promise<boolean> {
    const { count } = await this.prisma.collection.updateMany({
      where: { id: collectionId, tenantId },
      data: {
        ...(settings.baseline !== undefined
          ? {
              driftBaselineFrom: settings.baseline?.from ?? null,
              driftBaselineTo: settings.baseline?.to ?? null,
            }
          : {}),
        ...(settings.verdictMethod !== undefined ? { driftVerdictMethod: settings.verdictMethod } : {}),
      },
    });
    return count === 1;
  }

  /**
   * A seeded sample of up to `limit` stored inputs of a collection with their stored vectors by
   * its serving version (any event time): what the self-check re-embeds.
   */
  async storedSample(
    c: Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'versionId'>,
    limit: number,
    seed: string,
  ): Promise<StoredInput[]> {
    return (await this.windowSample(c, null, limit, seed)).inputs;
  }

  recordSelfCheck(outcome: SelfCheckOutcome): Promise<SelfCheckReport> {
    return this.prisma.selfCheckReport.create({
      data: { ...outcome, worst: outcome.worst },
    });
  }

  /** A collection's self-checks, newest first. */
  selfChecks(tenantId: string, collectionId: string, limit: number): Promise<SelfCheckReport[]> {
    return this.prisma.selfCheckReport.findMany({
      where: { tenantId, collectionId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
    });
  }

  /** A collection's topic tracker for one model, if one was saved. */
  async topicState(collectionId: string, model: string): Promise<SavedTopicState | undefined> {
    const row = await this.prisma.topicState.findUnique({
      where: { collectionId_model: { collectionId, model } },
    });
    if (!row) return undefined;
    return {
      state: Buffer.from(row.state),
      cursor:
        row.cursorEventAt && row.cursorStream && row.cursorItem !== null
          ? { eventAt: row.cursorEventAt, streamId: row.cursorStream, itemId: row.cursorItem }
          : null,
    };
  }

  /** Saves a topic tracker's state and cursor. */
  async saveTopicState(
    c: Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'model'>,
    saved: SavedTopicState,
  ): Promise<void> {
    const data = {
      state: new Uint8Array(saved.state),
      cursorEventAt: saved.cursor?.eventAt ?? null,
      cursorStream: saved.cursor?.streamId ?? null,
      cursorItem: saved.cursor?.itemId ?? null,
      updatedAt: new Date(),
    };
    await this.prisma.topicState.upsert({
      where: { collectionId_model: { collectionId: c.collectionId, model: c.model } },
      create: { collectionId: c.collectionId, model: c.model, tenantId: c.tenantId, ...data },
      update: data,
    });
  }

  /**
   * Up to `limit` stored inputs of the collection by its version, after `cursor` in (event time,
   * stream, item) order and with an event time before `until` (the watermark): what a topic
   * tracker reads next, in an order that does not depend on when the items arrived.
   */
  async inputsAfter(
    c: Pick<WatchedCollection, 'tenantId' | 'collectionId' | 'versionId'>,
    cursor: TopicCursor | null,
    until: Date,
    limit: number,
  ): Promise<StoredInput[]> {
    const rows = await this.rows<{
      streamId: string;
      itemId: string;
      text: string;
      vector: Uint8Array;
      eventAt: Date;
    }>(
      `SELECT i.stream_id AS "streamId", i.id AS "itemId", i.text, i.event_at AS "eventAt",
         ${VECTOR_BY_VERSION_SQL} AS vector
       FROM collection_version v
       JOIN stream s ON s.collection_id = v.collection_id AND s.tenant_id = v.tenant_id
       JOIN item i ON i.stream_id = s.id
       LEFT JOIN item_vector iv ON iv.version_id = v.id AND iv.stream_id = i.stream_id AND iv.item_id = i.id
       WHERE v.id = $1::uuid AND v.tenant_id = $2::uuid AND v.collection_id = $3::uuid
         AND i.status = 'embedded' AND ${HAS_VECTOR_BY_VERSION_SQL}
         AND i.event_at < $4
         AND ($5::timestamptz IS NULL OR (i.event_at, i.stream_id, i.id) > ($5::timestamptz, $6::uuid, $7::text))
       ORDER BY i.event_at, i.stream_id, i.id LIMIT $8`,
      [
        c.versionId,
        c.tenantId,
        c.collectionId,
        until,
        cursor?.eventAt ?? null,
        cursor?.streamId ?? null,
        cursor?.itemId ?? null,
        limit,
      ],
    );
    return rows.map((r) => ({ ...r, vector: vectorFrom(r.vector) }));
  }

  /**
   * How far in event time (exclusive) a topic tracker may read the collection: the newest event time of its
   * embedded items less `latenessMs`, but not past the earliest event time of an item of it still
   * waiting to be embedded (pending or queued), so no item is passed over while in flight; null
   * when nothing is embedded.
   */
  async topicWatermark(
    c: Pick<WatchedCollection, 'tenantId' | 'collectionId'>,
    latenessMs: number,
  ): Promise<Date | null> {
    const [row] = await this.rows<{ newest: Date | null; waiting: Date | null }>(
      `SELECT
         (SELECT max(i.event_at) FROM stream s JOIN item i ON i.stream_id = s.id
          WHERE s.collection_id = $1::uuid AND s.tenant_id = $2::uuid AND i.status = 'embedded') AS newest,
         (SELECT min(i.event_at) FROM stream s JOIN item i ON i.stream_id = s.id
          WHERE s.collection_id = $1::uuid AND s.tenant_id = $2::uuid AND i.status IN ('pending', 'queued')) AS waiting`,
      [c.collectionId, c.tenantId],
    );
    if (!row?.newest) return null;
    // Exclusive, like the windows: with no lateness, the newest item itself is read.
    const late = new Date(row.newest.getTime() - latenessMs + 1);
    return row.waiting && row.waiting < late ? row.waiting : late;
  }
}
