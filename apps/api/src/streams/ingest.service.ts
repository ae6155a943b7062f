import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  DomainError,
  itemKindIssues,
  RateLimitedError,
  UnavailableError,
  type IngestItem,
  type IngestResult,
} from '@tributary/contracts';
import {
  ItemIngestRepository,
  ItemQueueRepository,
  StreamRepository,
  type PendingItem,
  type StreamWithCollection,
} from '@tributary/db';
import { EmbedQueues, type EnqueuedItem } from '@tributary/queue';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { RateLimiter } from '../auth/rate-limiter';
import { invalidRequest } from '../common/validation.pipe';
import { MetricsService } from '../metrics/metrics.service';

export type IngestChannel = 'rest' | 'ndjson' | 'webhook';

/** How long a queue command may take before the request is answered 503 (a queue client waits for Redis to come back). */
const QUEUE_TIMEOUT_MS = 3_000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} took longer than ${QUEUE_TIMEOUT_MS} ms`)),
        QUEUE_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Takes items into a stream: backpressure first (nothing is stored that will not be queued), then
 * the items are stored (new ids only: the client's id is the idempotency key), enqueued on the
 * model's queue with ids derived from the items (so a repeat is the same job), and only then
 * marked queued. A failure anywhere before the answer leaves items pending, and sending them again
 * queues them: nothing acknowledged is lost, nothing is done twice.
 */
@Injectable()
export class IngestService {
  constructor(
    private readonly streams: StreamRepository,
    private readonly items: ItemIngestRepository,
    private readonly queued: ItemQueueRepository,
    private readonly queues: EmbedQueues,
    private readonly limiter: RateLimiter,
    private readonly metrics: MetricsService,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Takes items sent to one of the caller's streams (404 if it is not theirs). */
  async ingestToStream(
    principal: TenantPrincipal,
    streamId: string,
    items: IngestItem[],
  ): Promise<IngestResult> {
    const stream = await this.streams.get(principal.tenant.id, streamId);
    return this.ingest(stream, items, 'rest');
  }

  async ingest(
    stream: StreamWithCollection,
    items: IngestItem[],
    channel: IngestChannel,
  ): Promise<IngestResult> {
    // The body schema takes the fields of every kind; which this stream's items need is checked here.
    const kindIssues = items.flatMap((item, i) =>
      itemKindIssues(stream.kind, item).map((issue) => ({ ...issue, path: ['items', i, ...issue.path] })),
    );
    if (kindIssues.length > 0) throw invalidRequest(kindIssues);
    const large = items.findIndex((item) => this.tooLarge(item) !== undefined);
    if (large >= 0) {
      throw new DomainError('payload_too_large', `items.${large} ${this.tooLarge(items[large]!)!}`, {
        path: `items.${large}`,
        limitBytes: this.config.INGEST_ITEM_MAX_BYTES,
      });
    }
    // Repeats inside one request are duplicates of the first occurrence.
    const unique = new Map<string, IngestItem>();
    for (const item of items) if (!unique.has(item.id)) unique.set(item.id, item);
    const batch = [...unique.values()];
    if (batch.length === 0) return { accepted: 0, duplicates: items.length };

    await this.checkBackpressure(stream, batch.length);

    const inserted = await this.items.insertNew(
      stream.tenantId,
      stream.id,
      stream.model,
      batch.map((i) => ({
        id: i.id,
        text: i.text ?? '',
        metadata: i.metadata ?? null,
        occurredAt: i.timestamp ? new Date(i.timestamp) : null,
        groupId: i.conversationId ?? i.documentId ?? null,
        sequence: i.sequence ?? null,
        sensorValues: i.values ?? null,
      })),
      { arrivalOrder: stream.kind === 'conversation' },
    );
    // New items, and items stored by an earlier attempt whose enqueue never completed.
    const pending =
      inserted.length === batch.length
        ? null
        : await this.items.pending(
            stream.tenantId,
            stream.id,
            batch.map((i) => i.id),
          );
    const toQueue: PendingItem[] =
      pending ?? batch.map((i) => ({ id: i.id, text: i.text ?? '', retries: 0, acceptedAt: new Date() }));
    const accepted = await this.enqueue(stream, toQueue);
    const duplicates = items.length - accepted;
    this.metrics.itemsIngested.inc({ channel, outcome: 'accepted' }, accepted);
    if (duplicates > 0) this.metrics.itemsIngested.inc({ channel, outcome: 'duplicate' }, duplicates);
    return { accepted, duplicates };
  }

  /**
   * Why an item is too large to take (INGEST_ITEM_MAX_BYTES, measured on its JSON), or undefined.
   * One rule for every channel: an NDJSON line is checked with it before it joins a batch.
   */
  tooLarge(item: IngestItem): string | undefined {
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (bytes <= this.config.INGEST_ITEM_MAX_BYTES) return undefined;
    return (
      `is ${bytes} bytes as JSON; an item may be at most ${this.config.INGEST_ITEM_MAX_BYTES} bytes ` +
      '(INGEST_ITEM_MAX_BYTES): shorten its text or metadata.'
    );
  }

  countInvalid(channel: IngestChannel, count: number): void {
    this.metrics.itemsIngested.inc({ channel, outcome: 'invalid' }, count);
  }

  /** Puts items on the model's queue, then marks them queued; returns how many moved to queued. */
  async enqueue(stream: StreamWithCollection, items: PendingItem[], alreadyQueued = false): Promise<number> {
    if (items.length === 0) return 0;
    const now = Date.now();
    let carried: EnqueuedItem[];
    const toEnqueue = items.map((item) => ({
      id: item.id,
      text: item.text,
      retries: item.retries,
      acceptedAt: alreadyQueued ? now : item.acceptedAt.getTime(),
    }));
    // Every other live version of the collection (a rollout's candidate, a promotion's retained
    // previous version) gets the items too: dual-write jobs on its model's queue, uncounted.
    const others = stream.collection.versions.filter((v) => v.model !== stream.model);
    try {
      [carried] = await withTimeout(
        Promise.all([
          this.queues.enqueue(stream, toEnqueue),
          ...others.map((v) => this.queues.enqueueVersion(stream, v, toEnqueue).then(() => [])),
        ]),
        'enqueueing',
      );
    } catch (err) {
      throw new UnavailableError(
        'The queue is unavailable; nothing was acknowledged. Retry shortly.',
        2,
        new Error(`enqueue failed for stream ${stream.id}`, { cause: err }),
      );
    }
    // Each item with the job carrying it, which the orphan sweep checks for in Redis.
    if (alreadyQueued) {
      await this.queued.recordRequeued(stream.tenantId, stream.id, carried);
      return items.length;
    }
    // Marks them queued and counts them as accepted, in one statement.
    return this.queued.markQueued(stream.tenantId, stream.id, carried);
  }

  private async checkBackpressure(stream: StreamWithCollection, count: number): Promise<void> {
    // Both bounds are in items, from the stream counters: a BullMQ job holds up to 100 of them.
    const lag = await this.items.lags(stream.tenantId, stream.model);
    if (lag.model + count > this.config.INGEST_GLOBAL_MAX_QUEUED) {
      this.metrics.ingestRejections.inc({ reason: 'global_queue' });
      throw new UnavailableError(
        `The ${stream.model} queue is full (${lag.model} items waiting); retry later.`,
        Math.max(1, Math.ceil(lag.model / 1000)),
      );
    }
    if (lag.tenant + count > this.config.INGEST_TENANT_MAX_QUEUED) {
      this.metrics.ingestRejections.inc({ reason: 'tenant_queue' });
      throw new RateLimitedError(
        `This tenant has ${lag.tenant} items accepted and not yet embedded (at most ${this.config.INGEST_TENANT_MAX_QUEUED}); retry when they are processed.`,
        Math.max(1, Math.ceil((lag.tenant + count - this.config.INGEST_TENANT_MAX_QUEUED) / 500)),
      );
    }
    await this.limiter.chargeItems(stream.tenantId, count);
  }
}
