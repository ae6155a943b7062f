import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  DomainError,
  FORBIDDEN_KEY,
  itemSchemaFor,
  MAX_ITEMS_PER_REQUEST,
  UnavailableError,
  type IngestItem,
  type IngestResult,
} from '@tributary/contracts';
import { isDataException, StreamRepository, type StreamWithCollection } from '@tributary/db';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { RateLimiter } from '../auth/rate-limiter';
import { IngestService } from './ingest.service';
import { ndjsonLines, type NdjsonLine } from './ndjson';

const MAX_REPORTED_LINES = 100;

type NdjsonEntry = NdjsonLine | { line: number; tooLong: true };

interface Line {
  line: number;
  item: IngestItem;
}

/** What one NDJSON request has done so far. */
class Progress {
  accepted = 0;
  duplicates = 0;
  invalidCount = 0;
  /** The first bad lines by number (at most MAX_REPORTED_LINES). */
  private readonly invalid: { line: number; error: string }[] = [];
  /** Every line up to this one was taken: queued, a duplicate, or reported bad. */
  private handledThrough = 0;
  /** How many of the bad lines lie up to `handledThrough`. */
  private invalidHandled = 0;

  bad(line: number, error: string): void {
    this.invalidCount++;
    // Lines the database refused are found after the bad lines read later, so keep the lowest numbers.
    if (this.invalid.length < MAX_REPORTED_LINES) {
      this.invalid.push({ line, error });
      return;
    }
    let highest = 0;
    for (let i = 1; i < this.invalid.length; i++) {
      if (this.invalid[i]!.line > this.invalid[highest]!.line) highest = i;
    }
    if (line < this.invalid[highest]!.line) this.invalid[highest] = { line, error };
  }

  /** Every line up to `line` is taken, with `invalidCount` bad lines among them. */
  handled(line: number, invalidCount = this.invalidCount): void {
    this.handledThrough = line;
    this.invalidHandled = invalidCount;
  }

  result(): IngestResult {
    const { accepted, duplicates, invalidCount } = this;
    return invalidCount > 0
      ? { accepted, duplicates, invalid: this.invalidThrough(Infinity), invalidCount }
      : { accepted, duplicates };
  }

  /** The error that ends the request early, saying what was taken and where to resume. */
  stoppedBy(err: DomainError): DomainError {
    const through = this.handledThrough;
    return new DomainError(
      err.code,
      `${err.message.replace(/[.;]\s*$/, '')}. Stopped after line ${through}: ${this.accepted} items were ` +
        `accepted up to there; send the rest from line ${through + 1} (ids make repeats safe).`,
      {
        accepted: this.accepted,
        duplicates: this.duplicates,
        lastLineAccepted: through,
        invalid: this.invalidThrough(through),
        invalidCount: this.invalidHandled,
      },
      err.retryAfterSeconds,
    );
  }

  private invalidThrough(line: number) {
    return this.invalid.filter((l) => l.line <= line).sort((a, b) => a.line - b.line);
  }
}

/**
 * NDJSON ingest: a body of any length read line by line (memory stays bounded), good lines queued
 * in batches of {@link MAX_ITEMS_PER_REQUEST} (or the tenant rate limiter's burst, if smaller: a
 * larger batch could never pass it) through the same {@link IngestService} as `/items`,
 * every per-line problem (not JSON, not an item, too large, a value PostgreSQL refuses) reported
 * as a bad line with its number. When the request stops early (backpressure, the body's size or
 * time bounds, a backend failing), the error says how many items were accepted and the last line
 * taken, and everything up to that line stays accepted.
 */
@Injectable()
export class NdjsonIngestService {
  private readonly logger = new Logger('NdjsonIngest');

  constructor(
    private readonly streams: StreamRepository,
    private readonly ingestion: IngestService,
    private readonly limiter: RateLimiter,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /** Ingests an NDJSON upload into one of the caller's streams (404 if not theirs, 415 if not NDJSON). */
  async ingestToStream(
    principal: TenantPrincipal,
    streamId: string,
    body: AsyncIterable<Buffer> | undefined,
  ): Promise<IngestResult> {
    const stream = await this.streams.get(principal.tenant.id, streamId);
    if (!body) {
      throw new DomainError('unsupported_media_type', 'Send the items as Content-Type: application/x-ndjson');
    }
    return this.ingest(stream, body);
  }

  async ingest(stream: StreamWithCollection, body: AsyncIterable<Buffer>): Promise<IngestResult> {
    const progress = new Progress();
    let batch: Line[] = [];
    const batchSize = Math.min(MAX_ITEMS_PER_REQUEST, this.limiter.maxItemsPerCharge);
    // Bad lines before the batch's first line: those are taken whatever becomes of the batch.
    let invalidBeforeBatch = 0;
    let lastLine = 0;
    // Queues the batch; afterwards every line read so far is taken. Returns why it could not.
    const flush = async (): Promise<DomainError | undefined> => {
      if (batch.length > 0) {
        try {
          await this.store(stream, batch, progress);
        } catch (err) {
          // Part of the batch may be queued too: sending it again counts those as duplicates.
          progress.handled(batch[0]!.line - 1, invalidBeforeBatch);
          return this.asDomainError(err, stream);
        }
      }
      batch = [];
      progress.handled(lastLine);
      return undefined;
    };

    const maxLine = this.config.INGEST_ITEM_MAX_BYTES;
    const lines = ndjsonLines(body, maxLine)[Symbol.asyncIterator]();
    let cutShort: DomainError | undefined;
    try {
      for (;;) {
        let next: IteratorResult<NdjsonEntry>;
        try {
          next = await lines.next();
        } catch (err) {
          // The body ended early (too large, too slow, cut off): keep the complete lines read before.
          cutShort = this.asDomainError(err, stream);
          break;
        }
        if (next.done) break;
        const entry = next.value;
        lastLine = entry.line;
        const item = this.parse(stream, entry, maxLine, progress);
        if (item) {
          if (batch.length === 0) invalidBeforeBatch = progress.invalidCount;
          batch.push({ line: entry.line, item });
        }
        if (batch.length >= batchSize) {
          const failed = await flush();
          if (failed) throw progress.stoppedBy(failed);
        }
      }
      const failed = (await flush()) ?? cutShort;
      if (failed) throw progress.stoppedBy(failed);
    } finally {
      // Lines that never became items, counted once however the request ends.
      if (progress.invalidCount > 0) this.ingestion.countInvalid('ndjson', progress.invalidCount);
      await lines.return?.(undefined);
    }
    return progress.result();
  }

  private parse(
    stream: StreamWithCollection,
    entry: NdjsonEntry,
    maxLine: number,
    progress: Progress,
  ): IngestItem | undefined {
    if ('tooLong' in entry) {
      progress.bad(entry.line, `line is longer than ${maxLine} bytes (INGEST_ITEM_MAX_BYTES)`);
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(entry.text);
    } catch (err) {
      progress.bad(entry.line, `not JSON: ${(err as Error).message}`);
      return undefined;
    }
    // Refused as in a JSON body (Fastify's parser refuses it there): JSON.parse keeps such a key,
    // and zod would drop it from a record without a word.
    if (holdsPrototypeKey(entry.text)) {
      progress.bad(
        entry.line,
        `holds a "${FORBIDDEN_KEY}" key (or "constructor" with a "prototype" key), refused because it ` +
          'would alter object prototypes; rename that key',
      );
      return undefined;
    }
    const parsed = itemSchemaFor(stream.kind).safeParse(value);
    if (!parsed.success) {
      progress.bad(
        entry.line,
        parsed.error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; '),
      );
      return undefined;
    }
    const tooLarge = this.ingestion.tooLarge(parsed.data);
    if (tooLarge) {
      progress.bad(entry.line, `the item ${tooLarge}`);
      return undefined;
    }
    return parsed.data;
  }

  /**
   * Queues a batch. When PostgreSQL refuses a value in it (SQLSTATE class 22: nothing of that
   * statement was stored), halves the batch until the lines it refuses are found, and reports
   * those as bad lines: one such line costs about 2·log2(batch) statements, not the request.
   */
  private async store(stream: StreamWithCollection, batch: Line[], progress: Progress): Promise<void> {
    try {
      const result = await this.ingestion.ingest(
        stream,
        batch.map((l) => l.item),
        'ndjson',
      );
      progress.accepted += result.accepted;
      progress.duplicates += result.duplicates;
    } catch (err) {
      if (!isDataException(err)) throw err;
      if (batch.length === 1) {
        this.logger.debug(
          `line ${batch[0]!.line} of an NDJSON body refused by PostgreSQL: ${(err as Error).message}`,
        );
        progress.bad(
          batch[0]!.line,
          'holds a value that cannot be stored (such as a NUL character, \\u0000, or a lone UTF-16 surrogate)',
        );
        return;
      }
      const half = Math.ceil(batch.length / 2);
      await this.store(stream, batch.slice(0, half), progress);
      await this.store(stream, batch.slice(half), progress);
    }
  }

  private asDomainError(err: unknown, stream: StreamWithCollection): DomainError {
    if (err instanceof DomainError) return err;
    this.logger.error({ err, streamId: stream.id }, 'NDJSON ingest stopped by an unexpected error');
    return new UnavailableError('Storing the items failed; retry shortly', 2);
  }
}

/**
 * Whether a line's JSON names `__proto__`, or `constructor` holding `prototype`, as a key anywhere
 * (what Fastify's JSON parser refuses in a body). Parsed again only when the text holds one of the
 * words, so ordinary lines pay a substring search.
 */
function holdsPrototypeKey(text: string): boolean {
  if (!text.includes(FORBIDDEN_KEY) && !text.includes('prototype')) return false;
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (
      key === FORBIDDEN_KEY ||
      (key === 'constructor' &&
        typeof value === 'object' &&
        value !== null &&
        Object.hasOwn(value, 'prototype'))
    )
      found = true;
    return value;
  });
  return found;
}
