import { Logger } from '@nestjs/common';
import type { Config } from '@tributary/config';
import { createRedis, decodeIndexOp, type Redis } from '@tributary/queue';
import type { EmbeddedVectorStore } from '@tributary/vector-store';
import type { MetricsService } from '../metrics/metrics.service';

/**
 * Applies the index log (a Redis stream the workers append to) to this process's embedded vector
 * store, in order, on a connection of its own (XREAD blocks). Upserts by id are idempotent, so
 * reading an entry twice is harmless; the version each entry carries is recorded with the index,
 * and an index saved at an older version than PostgreSQL's is rebuilt at the next start.
 */
export class IndexLogConsumer {
  private readonly logger = new Logger('IndexLog');
  private readonly redis: Redis;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    config: Config,
    private readonly store: EmbeddedVectorStore,
    private readonly metrics: MetricsService,
    private readonly logKey: string,
    private position: string,
  ) {
    if (!config.REDIS_URL) throw new Error('REDIS_URL is not set');
    this.redis = createRedis(config.REDIS_URL, 'worker', 'api:index-log');
  }

  /** The id of the log's last entry ('0' when empty): a consumer started there reads what comes after. */
  static async tail(redis: Redis, logKey: string): Promise<string> {
    const last = (await redis.xrevrange(logKey, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return last[0]?.[0] ?? '0';
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let batch: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        // Buffers: an upsert's vectors are a binary field.
        batch = await this.redis.xreadBuffer(
          'COUNT',
          200,
          'BLOCK',
          1000,
          'STREAMS',
          this.logKey,
          this.position,
        );
      } catch (err) {
        if (!this.running) return;
        this.logger.warn(`reading the index log failed: ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const [, entries] of batch ?? []) {
        for (const [rawId, fields] of entries) {
          const id = rawId.toString();
          try {
            await this.apply(fields);
          } catch (err) {
            this.logger.error(`index log entry ${id} could not be applied: ${(err as Error).message}`);
          }
          this.position = id;
        }
      }
    }
  }

  private async apply(fields: Buffer[]): Promise<void> {
    const op = decodeIndexOp(fields);
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
    } else {
      const info = await this.store.info(op.key);
      if (info) await this.store.delete(op.key, op.ids);
    }
    this.store.setVersion(op.key, op.version);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => undefined);
  }
}
