import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  driftMethods,
  NotFoundError,
  type CreateDriftReport,
  type DriftMethod,
  type DriftSettings,
  type TrendsQuery,
  type TrendsView,
} from '@tributary/contracts';
import { CollectionRepository, WatchRepository, type WatchedCollection } from '@tributary/db';
import { TopicTracker, type TopicTrackerState } from '@tributary/drift';
import { EmbedQueues } from '@tributary/queue';
import { driftReportView, selfCheckView } from './watch.view';

/** Reports and self-checks a list answers at most. */
const LIST_LIMIT = 100;

/**
 * The quality watch as tenants see it: on-demand drift reports (computed by a worker's
 * `DriftReport` job) and the scheduled ones, self-checks, a collection's drift settings, and its
 * emerging topics (read from the tracker the workers keep). Every read goes through the tenant's
 * collection by name, so another tenant's collection is a 404.
 */
@Injectable()
export class WatchService {
  private readonly logger = new Logger('Watch');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly collections: CollectionRepository,
    private readonly watch: WatchRepository,
    private readonly queues: EmbedQueues,
  ) {}

  private async collection(tenantId: string, name: string): Promise<WatchedCollection> {
    const { id } = await this.collections.byName(tenantId, name);
    const c = await this.watch.collection(tenantId, id);
    if (!c) throw new NotFoundError('Collection', name);
    return c;
  }

  async createDriftReport(tenantId: string, name: string, body: CreateDriftReport) {
    const c = await this.collection(tenantId, name);
    const id = randomUUID();
    const report = await this.watch.createDriftReport({
      id,
      tenantId,
      collectionId: c.collectionId,
      model: c.model,
      trigger: 'on_demand',
      reference: { from: new Date(body.reference.from), to: new Date(body.reference.to) },
      current: { from: new Date(body.current.from), to: new Date(body.current.to) },
      sampleSize: body.sampleSize ?? this.config.DRIFT_SAMPLE_SIZE,
      seed: body.seed ?? id,
      methods: driftMethods.filter((m) => !body.methods || body.methods.includes(m)),
      verdictMethod:
        body.verdictMethod ??
        (!body.methods || body.methods.includes(c.driftVerdictMethod as DriftMethod)
          ? c.driftVerdictMethod
          : body.methods[0]!),
    });
    // The report is stored: should the job not reach Redis, the fan-out adds it again later.
    await this.queues
      .enqueueSingle('DriftReport', { tenantId, reportId: report.id }, `drift-report.${report.id}`)
      .catch((err: unknown) =>
        this.logger.warn(
          { reportId: report.id, err },
          'drift report not queued yet: the fan-out will add it',
        ),
      );
    return { id: report.id, state: report.state };
  }

  async driftReport(tenantId: string, name: string, id: string) {
    const c = await this.collection(tenantId, name);
    const report = await this.watch.driftReport(tenantId, c.collectionId, id);
    if (!report) throw new NotFoundError('Drift report', id);
    return driftReportView(report);
  }

  async driftReports(tenantId: string, name: string) {
    const c = await this.collection(tenantId, name);
    return {
      data: (await this.watch.driftReports(tenantId, c.collectionId, LIST_LIMIT)).map(driftReportView),
    };
  }

  async driftSettings(tenantId: string, name: string) {
    const c = await this.collection(tenantId, name);
    return settingsView(c);
  }

  async setDriftSettings(tenantId: string, name: string, body: DriftSettings) {
    const c = await this.collection(tenantId, name);
    await this.watch.setDriftSettings(tenantId, c.collectionId, {
      ...(body.baseline !== undefined
        ? {
            baseline: body.baseline && { from: new Date(body.baseline.from), to: new Date(body.baseline.to) },
          }
        : {}),
      ...(body.verdictMethod !== undefined ? { verdictMethod: body.verdictMethod } : {}),
    });
    return settingsView((await this.watch.collection(tenantId, c.collectionId)) ?? c);
  }

  async selfChecks(tenantId: string, name: string) {
    const c = await this.collection(tenantId, name);
    return { data: (await this.watch.selfChecks(tenantId, c.collectionId, LIST_LIMIT)).map(selfCheckView) };
  }

  /**
   * The collection's emerging topics in a window of event time (widened to the tracker's buckets);
   * by default the `TRENDS_WINDOW_MS` ending where the tracker has read to.
   */
  async trends(tenantId: string, name: string, query: TrendsQuery): Promise<TrendsView> {
    const c = await this.collection(tenantId, name);
    const saved = await this.watch.topicState(c.collectionId, c.model);
    const tracker = saved
      ? TopicTracker.fromJSON(JSON.parse(saved.state.toString('utf8')) as TopicTrackerState)
      : undefined;
    const bucket = tracker?.options.bucketMs ?? 300_000;
    const latest = tracker?.latestEventTime ?? Date.now();
    const toMs = query.to ? Date.parse(query.to) : latest + 1;
    const fromMs = query.from ? Date.parse(query.from) : toMs - this.config.TRENDS_WINDOW_MS;
    const from = Math.floor(fromMs / bucket) * bucket;
    const to = Math.max(from + bucket, Math.ceil(toMs / bucket) * bucket);
    const topics = tracker ? tracker.trends({ from, to, limit: query.limit }).topics : [];
    return {
      model: c.model,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      readThrough:
        tracker?.latestEventTime === undefined ? null : new Date(tracker.latestEventTime).toISOString(),
      topics: topics.map((t) => ({
        id: t.id,
        score: t.score,
        count: t.count,
        baseline: t.baseline,
        firstSeen: new Date(t.firstSeen).toISOString(),
        representatives: t.representatives,
        keywords: t.keywords,
      })),
    };
  }
}

function settingsView(c: WatchedCollection) {
  return {
    baseline:
      c.driftBaselineFrom && c.driftBaselineTo
        ? { from: c.driftBaselineFrom.toISOString(), to: c.driftBaselineTo.toISOString() }
        : null,
    verdictMethod: c.driftVerdictMethod as DriftMethod,
  };
}
