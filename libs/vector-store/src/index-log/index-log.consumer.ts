import { createRedis, type Redis } from '@tributary/redis';
import type { EmbeddedStore } from '../embedded/embedded-vector-store';
import type { IndexMetrics } from '../vector-store';
import { decodeIndexOp, indexOpHeader, type IndexOp } from './index-log';

/** Why a collection is rebuilt while running (the `reason` label of `tributary_index_rebuilds_total`). */
export type IndexRebuildReason = Parameters<IndexMetrics['indexRebuilds']['inc']>[0]['reason'];

/** Where the consumer reports what it does (a Nest Logger fits). */
export interface IndexLogLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface IndexLogConsumerOptions {
  /** The consumer reads on a connection of its own (XREAD blocks). */
  redisUrl: string;
  logKey: string;
  /** The entry id to read after ({@link IndexLogConsumer.tail} before the store reconciled). */
  position: string;
  /** How often versions are compared with the source (INDEX_LOG_CHECK_EVERY_MS). */
  checkEveryMs: number;
  store: EmbeddedStore;
  metrics: IndexMetrics;
  logger: IndexLogLogger;
}

interface LogEntry {
  id: string;
  key: string;
  version: bigint;
  fields: Buffer[];
  bytes: number;
}

/** A collection waiting for, or undergoing, a rebuild from PostgreSQL. */
interface PendingRebuild {
  reason: IndexRebuildReason;
  why: string;
  /**
   * The newest version among the entries read before the rebuild started: each entry's writes are
   * committed to PostgreSQL before it is appended, so the rebuilt content holds them.
   */
  covered: bigint;
  /** Reading PostgreSQL: entries read from now on may be newer than what it reads, so they are held. */
  running: boolean;
  held: LogEntry[];
  heldBytes: number;
  /** More was held than `MAX_HELD_BYTES`: dropped, and another rebuild follows this one. */
  overflowed: boolean;
}

/** A comparison with PostgreSQL: its versions, then where the log ended once they were read. */
interface PendingCheck {
  why: string;
  versions?: Map<string, string | undefined>;
  until?: string;
}

/** Entries of one collection held in memory while it is rebuilt (upserts carry up to 2 KB a point). */
const MAX_HELD_BYTES = 64 * 1024 * 1024;
/** Background entries read ahead of live ones at most, by count and by size (a backfill page is ~0.3 MB). */
const MAX_DEFERRED_ENTRIES = 64;
const MAX_DEFERRED_BYTES = 32 * 1024 * 1024;
/** After noticing a trim, when PostgreSQL's versions are compared again (see noticeTrim). */
const TRIM_RECHECK_MS = 1_000;

/** The first and last entry ids of the log (fields stay in Redis: entries can be half a megabyte). */
const LOG_BOUNDS = `local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
return { first[1] and first[1][1] or '', last[1] and last[1][1] or '' }`;

/** Orders stream ids (`<ms>-<seq>`; '0' and '' sort first). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = (a || '0').split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = (b || '0').split('-').map(BigInt);
  return aMs !== bMs ? (aMs < bMs ? -1 : 1) : aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Applies the index log (a Redis stream the workers append to) to this process's embedded vector
 * store, in order, on a connection of its own (XREAD blocks), and keeps every collection equal to
 * PostgreSQL when entries go missing. Per collection it knows the version it reflects: an entry one
 * above it is applied; an older one is a replay and skipped; the same one again is applied (a write
 * whose transaction rolled back after its XADD reuses its version, and its points are in PostgreSQL
 * all the same); a jump (an entry lost in a Redis crash, deleted or trimmed unread) or an entry that
 * fails to apply has the collection rebuilt from PostgreSQL, one collection at a time, while the
 * others keep applying. A collection whose last entries went missing with nothing after them is
 * found by comparing versions with PostgreSQL every `INDEX_LOG_CHECK_EVERY_MS`, at start, and when
 * the log no longer holds the entry read last (trimmed past this consumer).
 *
 * Live entries go first: a background entry (a rollout's backfill page, which nobody waits to
 * search) is held back while entries after it are read and applied, then applied one at a time with
 * a look for newer live entries in between. Only the order across collections changes: a
 * collection's entries after a held one are held behind it (its versions apply in order).
 */
export class IndexLogConsumer {
  private readonly logger: IndexLogLogger;
  private readonly redis: Redis;
  private readonly checkEveryMs: number;
  private readonly store: EmbeddedStore;
  private readonly metrics: IndexMetrics;
  private readonly logKey: string;
  /** Every entry up to this one has been handled (a check compares it with where the log ended). */
  private position: string;
  /** The last entry read (XREAD goes on after it); past `position` while background entries wait. */
  private readPosition: string;
  /** Background entries read and not yet handled, in log order, each with the entry read before it. */
  private readonly deferred: { id: string; fields: Buffer[]; after: string; key: string; bytes: number }[] =
    [];
  /** Per collection, how many of its entries wait in `deferred` (its later ones join them). */
  private readonly deferredKeys = new Map<string, number>();
  private deferredBytes = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  /** The version each collection seen since start reflects (also for collections not in the store yet). */
  private readonly applied = new Map<string, bigint>();
  private readonly rebuilds = new Map<string, PendingRebuild>();
  private readonly rebuildQueue: string[] = [];
  private rebuilding = false;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly recheckTimers = new Set<NodeJS.Timeout>();
  private check: PendingCheck | undefined;
  private checkAgain: string | undefined;

  constructor(options: IndexLogConsumerOptions) {
    ({
      store: this.store,
      metrics: this.metrics,
      logger: this.logger,
      logKey: this.logKey,
      position: this.position,
      checkEveryMs: this.checkEveryMs,
    } = options);
    this.readPosition = this.position;
    this.redis = createRedis(options.redisUrl, 'worker', 'api:index-log');
  }

  /** The id of the log's last entry ('0' when empty): a consumer started there reads what comes after. */
  static async tail(redis: Redis, logKey: string): Promise<string> {
    const [, last] = (await redis.eval(LOG_BOUNDS, 1, logKey)) as [string, string];
    return last || '0';
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
    // Entries appended before the tail this process started from may have committed after its
    // start-up reconcile read PostgreSQL: one check finds a collection left behind by them.
    this.requestCheck('start-up check');
    this.checkTimer = setInterval(() => this.requestCheck('periodic check'), this.checkEveryMs);
    this.checkTimer.unref();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let batch: [Buffer, [Buffer, Buffer[]][]][] | null = null;
      const waiting = this.deferred.length > 0;
      try {
        await this.advanceCheck();
        // With background entries waiting, a look for newer entries that does not block (live ones
        // go first), unless enough are held already.
        if (
          !waiting ||
          (this.deferred.length < MAX_DEFERRED_ENTRIES && this.deferredBytes < MAX_DEFERRED_BYTES)
        ) {
          // Buffers: an upsert's vectors are a binary field.
          batch = waiting
            ? await this.redis.xreadBuffer('COUNT', 200, 'STREAMS', this.logKey, this.readPosition)
            : await this.redis.xreadBuffer(
                'COUNT',
                200,
                'BLOCK',
                1000,
                'STREAMS',
                this.logKey,
                this.readPosition,
              );
        }
      } catch (err) {
        if (!this.running) return;
        this.logger.warn(`reading the index log failed: ${errorMessage(err)}; retrying`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const entries = batch?.[0]?.[1] ?? [];
      if (entries.length > 0) await this.noticeTrim(entries[0]![0].toString());
      for (const [rawId, fields] of entries) {
        const id = rawId.toString();
        const header = indexOpHeader(fields);
        if (header && (header.background || this.deferredKeys.has(header.key))) {
          // Its collection's later entries wait behind it (each collection's entries apply in order).
          const bytes = fields.reduce((sum, f) => sum + f.length, 0);
          this.deferred.push({ id, fields, after: this.readPosition, key: header.key, bytes });
          this.deferredKeys.set(header.key, (this.deferredKeys.get(header.key) ?? 0) + 1);
          this.deferredBytes += bytes;
        } else {
          await this.handle(id, fields);
        }
        this.readPosition = id;
        if (this.deferred.length === 0) this.position = id;
      }
      // One background entry, then a look for live ones again.
      const next = this.deferred.shift();
      if (next) {
        const left = this.deferredKeys.get(next.key)! - 1;
        if (left > 0) this.deferredKeys.set(next.key, left);
        else this.deferredKeys.delete(next.key);
        this.deferredBytes -= next.bytes;
        await this.handle(next.id, next.fields);
        this.position = this.deferred[0]?.after ?? this.readPosition;
      }
      // Nothing after the position: every entry up to the check's end has been read.
      if (entries.length === 0 && this.deferred.length === 0 && this.check?.until !== undefined)
        this.evaluateCheck();
    }
  }

  /**
   * The log holding nothing before the first entry just read means the entry read last was trimmed,
   * and perhaps entries after it that this consumer never saw: a check finds what they were for.
   */
  private async noticeTrim(firstRead: string): Promise<void> {
    // Started on an empty log: nothing was read before, so nothing before the first entry to miss.
    if (this.readPosition === '0') return;
    try {
      const [first] = (await this.redis.eval(LOG_BOUNDS, 1, this.logKey)) as [string, string];
      if (first && compareStreamIds(first, firstRead) >= 0) {
        const why = `the index log no longer holds entry ${this.readPosition}, read last`;
        this.requestCheck(why);
        // A lost entry's version may commit a moment after this check reads PostgreSQL (a writer
        // appends before it commits): a second check shortly after finds what the first could not.
        const again = setTimeout(() => {
          this.recheckTimers.delete(again);
          this.requestCheck(`${why} (checked again)`);
        }, TRIM_RECHECK_MS);
        again.unref();
        this.recheckTimers.add(again);
      }
    } catch (err) {
      this.logger.warn(`could not read where the index log starts: ${errorMessage(err)}`);
    }
  }

  private async handle(id: string, fields: Buffer[]): Promise<void> {
    const header = indexOpHeader(fields);
    if (header === undefined) {
      // Nothing tells which collection missed it: the next entry's version, or a check, will.
      this.logger.error(`index log entry ${id} names no collection and version; skipped`);
      return;
    }
    const entry: LogEntry = {
      id,
      ...header,
      fields,
      bytes: fields.reduce((sum, f) => sum + f.length, 0),
    };
    const pending = this.rebuilds.get(entry.key);
    if (pending) {
      this.hold(pending, entry);
      return;
    }
    const problem = await this.process(entry);
    if (problem) this.scheduleRebuild(entry.key, problem.reason, problem.why, entry.version);
  }

  /** Applies an entry that follows the collection's version; says why not when the collection needs a rebuild. */
  private async process(entry: LogEntry): Promise<{ reason: IndexRebuildReason; why: string } | undefined> {
    const applied = this.appliedVersion(entry.key);
    if (entry.version < applied) return undefined;
    if (entry.version > applied + 1n) {
      return {
        reason: 'version_gap',
        why: `entry ${entry.id} has version ${entry.version} while the collection reflects ${applied}`,
      };
    }
    try {
      await this.apply(decodeIndexOp(entry.fields));
    } catch (err) {
      return {
        reason: 'apply_failed',
        why: `entry ${entry.id} (version ${entry.version}) could not be applied: ${errorMessage(err)}`,
      };
    }
    this.applied.set(entry.key, entry.version);
    return undefined;
  }

  private async apply(op: IndexOp): Promise<void> {
    if (op.op === 'upsert') {
      const started = process.hrtime.bigint();
      await this.store.ensureCollection(op.key, op.dimensions);
      await this.store.upsert(op.key, op.points);
      this.metrics.indexUpsertDuration.observe(
        { store: 'embedded' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      const now = Date.now();
      for (const at of op.acceptedAt)
        this.metrics.freshness.observe({ store: 'embedded' }, (now - at) / 1000);
      this.store.setVersion(op.key, op.version);
    } else if (await this.store.info(op.key)) {
      await this.store.delete(op.key, op.ids);
      this.store.setVersion(op.key, op.version);
    }
  }

  /**
   * The version the store reflects for the collection with this key: every write of that version
   * or below is searchable (0 before anything was applied or rebuilt).
   */
  appliedVersion(key: string): bigint {
    let version = this.applied.get(key);
    if (version === undefined) {
      const stored = this.store.versionOf(key);
      version = stored !== undefined && /^[0-9]+$/.test(stored) ? BigInt(stored) : 0n;
      this.applied.set(key, version);
    }
    return version;
  }

  private hold(pending: PendingRebuild, entry: LogEntry): void {
    if (!pending.running) {
      pending.covered = max(pending.covered, entry.version);
    } else if (pending.overflowed || pending.heldBytes + entry.bytes > MAX_HELD_BYTES) {
      // Everything dropped here is read before the next rebuild starts, which then holds it.
      pending.overflowed = true;
      pending.covered = max(pending.covered, entry.version);
      pending.held = [];
      pending.heldBytes = 0;
    } else {
      pending.held.push(entry);
      pending.heldBytes += entry.bytes;
    }
  }

  private scheduleRebuild(key: string, reason: IndexRebuildReason, why: string, covered: bigint): void {
    if (this.rebuilds.has(key)) return;
    this.rebuilds.set(key, {
      reason,
      why,
      covered,
      running: false,
      held: [],
      heldBytes: 0,
      overflowed: false,
    });
    this.metrics.indexRebuilds.inc({ reason });
    this.logger.warn(`collection ${key} is rebuilt from PostgreSQL (${reason}): ${why}`);
    this.rebuildQueue.push(key);
    if (!this.rebuilding) {
      this.rebuilding = true;
      void this.runRebuilds();
    }
  }

  /** One rebuild at a time, so that many collections behind at once do not take every connection. */
  private async runRebuilds(): Promise<void> {
    for (;;) {
      const key = this.rebuildQueue.shift();
      if (key === undefined || !this.running) {
        this.rebuilding = false;
        return;
      }
      try {
        await this.rebuild(key);
      } catch (err) {
        // Only when stopping (the store closed under it); the next start reconciles the collection.
        if (this.running) this.logger.error(`rebuilding collection ${key} failed: ${errorMessage(err)}`);
      }
    }
  }

  private async rebuild(key: string): Promise<void> {
    const pending = this.rebuilds.get(key)!;
    pending.running = true;
    let rebuilt: Awaited<ReturnType<EmbeddedStore['rebuild']>>;
    for (let attempt = 1; ; attempt++) {
      try {
        rebuilt = await this.store.rebuild(key, `${pending.reason}: ${pending.why}`);
        if (!this.running) return;
        break;
      } catch (err) {
        if (!this.running) return;
        const waitMs = Math.min(30_000, 500 * 2 ** attempt);
        this.logger.error(
          `rebuilding collection ${key} failed (attempt ${attempt}): ${errorMessage(err)}; again in ${waitMs} ms`,
        );
        await new Promise((r) => setTimeout(r, waitMs).unref());
        if (!this.running) return;
      }
    }
    if (rebuilt === undefined) {
      this.logger.warn(`collection ${key} is no longer in PostgreSQL; not rebuilt`);
      this.rebuilds.delete(key);
      return;
    }
    const version = max(
      rebuilt.version !== undefined && /^[0-9]+$/.test(rebuilt.version) ? BigInt(rebuilt.version) : 0n,
      pending.covered,
    );
    this.applied.set(key, version);
    this.store.setVersion(key, String(version));
    this.logger.log(
      `collection ${key} rebuilt from PostgreSQL (${pending.reason}): ${rebuilt.count} points, version ${version}`,
    );
    // What arrived meanwhile, in order; the same rules apply (a new gap means another rebuild).
    let problem: { reason: IndexRebuildReason; why: string } | undefined;
    while (problem === undefined && pending.held.length > 0) {
      const entry = pending.held.shift()!;
      pending.heldBytes -= entry.bytes;
      problem = await this.process(entry);
      if (problem) pending.covered = max(pending.covered, entry.version);
    }
    if (problem === undefined && pending.overflowed) {
      problem = {
        reason: pending.reason,
        why: `more than ${MAX_HELD_BYTES} bytes of entries arrived while it was rebuilt`,
      };
    }
    if (problem === undefined) {
      this.rebuilds.delete(key);
      return;
    }
    // Another round, behind the other collections waiting: whatever is still held is read before it starts.
    for (const entry of pending.held) pending.covered = max(pending.covered, entry.version);
    Object.assign(pending, { ...problem, running: false, held: [], heldBytes: 0, overflowed: false });
    this.metrics.indexRebuilds.inc({ reason: problem.reason });
    this.logger.warn(
      `collection ${key} is rebuilt from PostgreSQL again (${problem.reason}): ${problem.why}`,
    );
    this.rebuildQueue.push(key);
  }

  /** Starts a comparison with PostgreSQL (or queues one after the comparison in progress). */
  requestCheck(why: string): void {
    if (!this.running) return;
    if (this.check) {
      this.checkAgain ??= why;
      return;
    }
    const check: PendingCheck = { why };
    this.check = check;
    this.store.sourceVersions().then(
      (versions) => {
        check.versions = versions;
      },
      (err: unknown) => {
        this.logger.warn(`${why}: reading collection versions failed: ${errorMessage(err)}`);
        if (this.check === check) this.check = undefined;
      },
    );
  }

  /**
   * Once PostgreSQL's versions are read, notes where the log ends: every entry of a version it
   * reported was appended before it committed, so before that point.
   */
  private async advanceCheck(): Promise<void> {
    const check = this.check;
    if (check?.versions === undefined) return;
    if (check.until === undefined) check.until = await IndexLogConsumer.tail(this.redis, this.logKey);
    if (compareStreamIds(this.position, check.until) >= 0) this.evaluateCheck();
  }

  private evaluateCheck(): void {
    const check = this.check;
    if (check?.versions === undefined || check.until === undefined) return;
    this.check = undefined;
    for (const [key, source] of check.versions) {
      if (source === undefined || !/^[0-9]+$/.test(source) || this.rebuilds.has(key)) continue;
      const applied = this.appliedVersion(key);
      if (applied < BigInt(source)) {
        this.scheduleRebuild(
          key,
          'behind_source',
          `${check.why}: the collection reflects version ${applied}, PostgreSQL has ${source}, and the log was read to ${check.until}`,
          applied,
        );
      }
    }
    const again = this.checkAgain;
    this.checkAgain = undefined;
    if (again !== undefined) this.requestCheck(again);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.checkTimer);
    for (const timer of this.recheckTimers) clearTimeout(timer);
    this.recheckTimers.clear();
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }
}
