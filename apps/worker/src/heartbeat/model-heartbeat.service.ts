import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { liveLoadedModelsBeat, redisKeys, type LoadedModelsBeat, type Redis } from '@tributary/redis';
import { WORKER_REDIS } from '../worker-redis';

/** How often a live worker rewrites its entry. */
export const MODEL_HEARTBEAT_EVERY_MS = 10_000;
/** How long an entry counts after it was written: three missed beats and the process is gone. */
export const MODEL_HEARTBEAT_TTL_MS = 30_000;

/**
 * Tells the API which model versions this worker process has loaded (`GET /v1/admin/models`,
 * `loadedBy`): an entry in the `modelsLoaded` hash (libs/redis), rewritten every
 * {@link MODEL_HEARTBEAT_EVERY_MS} and counted for {@link MODEL_HEARTBEAT_TTL_MS}, so a worker
 * killed without a goodbye drops out on its own. The embedding handler announces its models once
 * they are loaded and withdraws them before it unloads them.
 */
@Injectable()
export class ModelHeartbeat implements OnApplicationShutdown {
  private readonly logger = new Logger('ModelHeartbeat');
  /** Unique per process and per worker context (tests run several in one process). */
  readonly processId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly key: string;
  private models: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(CONFIG) config: Config,
    @Inject(WORKER_REDIS) private readonly redis: Redis,
  ) {
    this.key = redisKeys(config.REDIS_PREFIX).modelsLoaded;
  }

  /**
   * Writes the entry now and keeps it fresh until {@link withdraw}. Never fails: Redis being away
   * must not stop a worker from starting (BullMQ waits for it anyway); the next beat retries.
   */
  async announce(models: readonly string[]): Promise<void> {
    this.models = [...models];
    await this.beatLogged();
    this.timer ??= setInterval(() => void this.beatLogged(), MODEL_HEARTBEAT_EVERY_MS);
    // Never what keeps the process alive.
    this.timer.unref();
  }

  /**
   * Stops refreshing and removes the entry, so the models stop counting as loaded at once. Best
   * effort: an entry left behind expires within {@link MODEL_HEARTBEAT_TTL_MS}.
   */
  async withdraw(): Promise<void> {
    this.stop();
    if (this.models.length === 0) return;
    this.models = [];
    await this.redis.hdel(this.key, this.processId).catch((err: unknown) => {
      this.logger.warn(`model heartbeat not withdrawn (it expires on its own): ${String(err)}`);
    });
  }

  /** Rewrites this process's entry and drops the entries of processes that stopped beating. */
  async beat(now = Date.now()): Promise<void> {
    const entry: LoadedModelsBeat = {
      app: 'worker',
      models: this.models,
      expiresAt: now + MODEL_HEARTBEAT_TTL_MS,
    };
    const replies = await this.redis
      .multi()
      .hset(this.key, this.processId, JSON.stringify(entry))
      // The hash goes when its last writer does.
      .pexpire(this.key, MODEL_HEARTBEAT_TTL_MS)
      .hgetall(this.key)
      .exec();
    const failed = replies?.find(([err]) => err);
    if (!replies || failed) throw failed?.[0] ?? new Error('heartbeat transaction aborted');
    const all = (replies[2]?.[1] ?? {}) as Record<string, string>;
    const stale = Object.keys(all).filter((field) => !liveLoadedModelsBeat(all[field]!, now));
    if (stale.length > 0) await this.redis.hdel(this.key, ...stale);
  }

  private async beatLogged(): Promise<void> {
    // A missed beat is retried by the next; the entry outlives two of them.
    await this.beat().catch((err: unknown) =>
      this.logger.warn(`model heartbeat not written: ${String(err)}`),
    );
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
