import { Injectable } from '@nestjs/common';
import { itemFailureReasons, type ItemFailureReason } from '@tributary/contracts';
import { ItemFailureRepository, StreamRepository } from '@tributary/db';
import { IngestService } from './ingest.service';

/** The listed reason of a stored code (a code this version does not know reads as a temporary failure). */
function failureReason(stored: string | null): { reason: ItemFailureReason; error: string } {
  const reason: ItemFailureReason =
    stored !== null && stored in itemFailureReasons ? (stored as ItemFailureReason) : 'attempts_exhausted';
  return { reason, error: itemFailureReasons[reason] };
}

/** Failed items of a stream: listed, and queued again on request. */
@Injectable()
export class FailuresService {
  constructor(
    private readonly items: ItemFailureRepository,
    private readonly streams: StreamRepository,
    private readonly ingestion: IngestService,
  ) {}

  async list(tenantId: string, streamId: string, limit: number, cursor?: string) {
    await this.streams.get(tenantId, streamId);
    const rows = await this.items.failures(tenantId, streamId, limit + 1, cursor);
    const page = rows.slice(0, limit);
    return {
      data: page.map((r) => ({
        id: r.id,
        ...failureReason(r.reason),
        retries: r.retries,
        acceptedAt: r.acceptedAt.toISOString(),
      })),
      nextCursor: rows.length > limit ? page[page.length - 1]!.id : null,
    };
  }

  async retry(tenantId: string, streamId: string, ids: string[] | undefined) {
    const stream = await this.streams.get(tenantId, streamId);
    const items = await this.items.retryFailed(tenantId, streamId, ids);
    // Each retry has its own job id (the retry count is part of it), so BullMQ runs it afresh.
    const queued = await this.ingestion.enqueue(stream, items, true);
    return { accepted: queued, duplicates: (ids?.length ?? queued) - queued };
  }
}
