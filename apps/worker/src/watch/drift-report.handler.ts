import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { driftMethods, type DriftMethod, type DriftMethodResult } from '@tributary/contracts';
import { WatchRepository, type DriftReportRequest, type WatchedCollection } from '@tributary/db';
import { driftReport } from '@tributary/drift';
import { Metrics } from '@tributary/observability';
import { EmbedQueues, type DriftReportData, type Job, type JobHandler } from '@tributary/queue';
import { watchCollectionLabel } from './watch-labels';

/** A report still running this long after it was made has lost its job: the fan-out adds it again. */
const LOST_REPORT_MS = 10 * 60_000;

/** Under this permutation p-value, MMD says the windows differ even when no threshold is crossed. */
const MMD_SIGNIFICANCE = 0.05;

/**
 * What a report without drift should still say: other methods than the verdict's that crossed
 * their thresholds, or, when none did, an MMD permutation p-value under 0.05 (the fixed thresholds
 * are blunt: a small shift in a mix passes them all while the permutation test tells the windows
 * apart).
 */
export function quietNote(results: DriftMethodResult[], verdictMethod: string): string | null {
  const crossed = results.filter((r) => r.drifted).map((r) => r.method);
  const mmd = results.find((r) => r.method === 'mmd');
  const significant = mmd?.pValue !== undefined && mmd.pValue < MMD_SIGNIFICANCE;
  const permutation = significant
    ? `the MMD permutation test tells the windows apart (p = ${mmd.pValue!.toFixed(4)} < ${MMD_SIGNIFICANCE})`
    : '';
  if (crossed.length > 0)
    return `${verdictMethod} sees no drift, but ${crossed.join(', ')} crossed ${crossed.length > 1 ? 'their thresholds' : 'its threshold'}${significant ? `; ${permutation}` : ''}`;
  return significant
    ? `no threshold crossed, but ${permutation}: a shift smaller than the thresholds see`
    : null;
}

/** The job id of a report's computation (one waiting job per report). */
export const driftReportJobId = (reportId: string) => `drift-report.${reportId}`;

/** A report's seed as the statistics take it (a 32-bit number from the seed string). */
export function numericSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32LE(0);
}

/**
 * The scheduled windows for `now`: the window of `everyMs` that ended last (aligned to multiples of
 * it since the epoch, so every fan-out in that period names the same one) and, as its reference,
 * the collection's pinned baseline or else the window before it.
 */
export function scheduledWindows(
  now: number,
  everyMs: number,
  c: Pick<WatchedCollection, 'driftBaselineFrom' | 'driftBaselineTo'>,
): Pick<DriftReportRequest, 'reference' | 'current'> {
  const to = Math.floor(now / everyMs) * everyMs;
  const current = { from: new Date(to - everyMs), to: new Date(to) };
  const reference =
    c.driftBaselineFrom && c.driftBaselineTo
      ? { from: c.driftBaselineFrom, to: c.driftBaselineTo }
      : { from: new Date(to - 2 * everyMs), to: new Date(to - everyMs) };
  return { reference, current };
}

/**
 * `DriftReportQueueAll` (scheduled): for each collection, the report of the window that ended last
 * (made once: a scheduled window is reported once however often this runs) and its `DriftReport`
 * job; reports whose job was lost are added again.
 */
@Injectable()
export class DriftReportQueueAllHandler implements JobHandler<'DriftReportQueueAll'> {
  readonly job = 'DriftReportQueueAll' as const;
  private readonly logger = new Logger('DriftReportQueueAll');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly watch: WatchRepository,
    private readonly queues: EmbedQueues,
  ) {}

  async handle(): Promise<{ created: number; requeued: number }> {
    let created = 0;
    for (const c of await this.watch.collectionsAcrossTenants()) {
      const report = await this.watch.createScheduledDriftReport({
        tenantId: c.tenantId,
        collectionId: c.collectionId,
        model: c.model,
        trigger: 'scheduled',
        ...scheduledWindows(Date.now(), this.config.DRIFT_REPORT_EVERY_MS, c),
        sampleSize: this.config.DRIFT_SAMPLE_SIZE,
        seed: `${c.collectionId}:scheduled`,
        methods: [...driftMethods],
        verdictMethod: c.driftVerdictMethod,
      });
      if (!report) continue;
      created += 1;
      await this.queues.enqueueSingle(
        'DriftReport',
        { tenantId: c.tenantId, reportId: report.id },
        driftReportJobId(report.id),
      );
    }
    const lost = await this.watch.runningDriftReports(LOST_REPORT_MS);
    for (const report of lost) {
      await this.queues.enqueueSingle(
        'DriftReport',
        { tenantId: report.tenantId, reportId: report.id },
        `${driftReportJobId(report.id)}.${Date.now()}`,
      );
    }
    if (lost.length > 0) this.logger.warn(`${lost.length} drift reports whose job was lost added again`);
    return { created, requeued: lost.length };
  }
}

/**
 * `DriftReport`: computes a report (state `running`) with libs/drift, over seeded samples of the
 * two windows' stored vectors by the report's model version (up to its sample size each), and
 * records the figures; a window with fewer than `DRIFT_MIN_ITEMS` items gets no verdict and says
 * so. A report that fails for good is marked failed with why.
 */
@Injectable()
export class DriftReportHandler implements JobHandler<'DriftReport'> {
  readonly job = 'DriftReport' as const;
  private readonly logger = new Logger('DriftReport');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly watch: WatchRepository,
    private readonly metrics: Metrics,
  ) {}

  async handle(job: Job<DriftReportData>): Promise<{ drifted: boolean | null } | { skipped: string }> {
    const report = await this.watch.driftReportById(job.data.reportId);
    if (!report || report.tenantId !== job.data.tenantId) return { skipped: 'the report is gone' };
    if (report.state !== 'running') return { skipped: `the report is ${report.state}` };
    try {
      return await this.compute(report);
    } catch (err) {
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        await this.watch.failDriftReport(report.id, (err as Error).message);
        this.logger.error({ reportId: report.id, err }, 'drift report failed');
      }
      throw err;
    }
  }

  private async compute(
    report: NonNullable<Awaited<ReturnType<WatchRepository['driftReportById']>>>,
  ): Promise<{ drifted: boolean | null }> {
    const version = await this.watch.liveVersion(report.tenantId, report.collectionId, report.model);
    if (!version) throw new Error(`model version ${report.model} of the collection is no longer live`);
    const [reference, current] = await Promise.all([
      this.watch.windowSample(
        version,
        { from: report.referenceFrom, to: report.referenceTo },
        report.sampleSize,
        `${report.seed}:reference`,
      ),
      this.watch.windowSample(
        version,
        { from: report.currentFrom, to: report.currentTo },
        report.sampleSize,
        `${report.seed}:current`,
      ),
    ]);
    const methods = report.methods as DriftMethod[];
    const outcome = driftReport(
      reference.inputs.map((i) => i.vector),
      current.inputs.map((i) => i.vector),
      {
        seed: numericSeed(report.seed),
        methods,
        verdictMethod: report.verdictMethod as DriftMethod,
        sampleSize: report.sampleSize,
        minRows: this.config.DRIFT_MIN_ITEMS,
      },
    );
    const collection = watchCollectionLabel(this.config, version);
    if (outcome.insufficient) {
      await this.watch.finishDriftReport(report.id, {
        referenceN: reference.total,
        currentN: current.total,
        results: [],
        drifted: null,
        note: `${outcome.reason.replace(/rows/g, 'items')}: no verdict`,
      });
      this.metrics.driftReports.inc({ method: 'all', verdict: 'insufficient', collection });
      return { drifted: null };
    }
    const results: DriftMethodResult[] = methods.flatMap((method) => {
      const r = outcome.results[method];
      return r
        ? [
            {
              method,
              value: r.value,
              threshold: r.threshold,
              drifted: r.drifted,
              ...(r.pValue !== undefined ? { pValue: r.pValue } : {}),
            },
          ]
        : [];
    });
    // The fixed thresholds are blunt: a small shift in a mix passes them all, while the MMD
    // permutation test still tells the windows apart. The report says so rather than stay silent.
    const note = outcome.drifted ? null : quietNote(results, outcome.verdictMethod);
    await this.watch.finishDriftReport(report.id, {
      referenceN: reference.total,
      currentN: current.total,
      results,
      drifted: outcome.drifted,
      note,
    });
    for (const r of results) {
      this.metrics.driftReports.inc({
        method: r.method,
        verdict: r.drifted ? 'drifted' : 'not_drifted',
        collection,
      });
      this.metrics.driftValue.observe({ method: r.method }, r.value);
      if (this.config.WATCH_METRICS_COLLECTION_LABEL)
        this.metrics.driftLatest.set({ method: r.method, collection }, r.value);
    }
    this.logger.log(
      { reportId: report.id, collectionId: report.collectionId, drifted: outcome.drifted },
      `drift report ${report.id}: ${outcome.drifted ? 'drift' : 'no drift'} (${results.map((r) => `${r.method} ${r.value.toFixed(4)}`).join(', ')})`,
    );
    return { drifted: outcome.drifted };
  }
}
