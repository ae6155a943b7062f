import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, selectWorkerQueues, type Config } from '@tributary/config';
import { EmbeddingEngine, engineOptionsFromConfig } from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import { ITEM_EMBED_MAX_ITEMS, queuesFor } from '@tributary/queue';
import { ModelHeartbeat } from '../heartbeat/model-heartbeat.service';

/** Stored inputs a backfill page holds. */
export const BACKFILL_PAGE_SIZE = 128;
/** Pages a backfill delivery embeds at once while it writes the earliest. */
export const BACKFILL_PAGES_IN_FLIGHT = 4;
const BACKFILL_ROWS_IN_FLIGHT = BACKFILL_PAGE_SIZE * BACKFILL_PAGES_IN_FLIGHT;

/**
 * The worker process's one embedding engine, with every model a served queue needs (embedding
 * and backfill queues alike), shared by the handlers that embed: started by the first that opens,
 * closed when the last one closes, its models announced to the registry meanwhile (`ModelHeartbeat`). One engine, so a backfill and live items share the sessions
 * rather than each loading the models.
 */
@Injectable()
export class WorkerEngine {
  private engine: Promise<EmbeddingEngine> | undefined;
  private users = 0;
  private announced = false;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly heartbeat: ModelHeartbeat,
  ) {}

  /** The models of every served per-model queue, in MODELS order. */
  servedModels(): string[] {
    const known = queuesFor(this.config.MODELS);
    const served = new Set(
      selectWorkerQueues(
        this.config,
        known.map((q) => q.name),
      ),
    );
    return [...new Set(known.filter((q) => q.model && served.has(q.name)).map((q) => q.model!))];
  }

  /** The engine, started on first use; `models` must be among the served ones. */
  async acquire(models: readonly string[]): Promise<EmbeddingEngine> {
    const served = this.servedModels();
    const missing = models.filter((m) => !served.includes(m));
    if (missing.length > 0) throw new Error(`models ${missing.join(', ')} are not served by this worker`);
    this.users += 1;
    // Every item this process holds (jobs of up to 100 items, a backfill page) may wait at once.
    this.engine ??= EmbeddingEngine.start(
      engineOptionsFromConfig(
        this.config,
        served,
        this.metrics.registry,
        this.config.EMBED_WORKER_CONCURRENCY * ITEM_EMBED_MAX_ITEMS + BACKFILL_ROWS_IN_FLIGHT,
        'throughput',
      ),
    );
    try {
      const engine = await this.engine;
      // What this process has loaded, for the registry (`GET /v1/admin/models`, `loadedBy`).
      if (!this.announced) {
        this.announced = true;
        await this.heartbeat.announce(engine.models().map((m) => m.id));
      }
      return engine;
    } catch (err) {
      this.engine = undefined;
      this.users -= 1;
      throw err;
    }
  }

  /** Gives the engine back; the last user closes it. */
  async release(): Promise<void> {
    if (this.users === 0) return;
    this.users -= 1;
    if (this.users > 0 || !this.engine) return;
    const engine = this.engine;
    this.engine = undefined;
    // The models stop counting as loaded before they are unloaded.
    this.announced = false;
    await this.heartbeat.withdraw();
    await (await engine).close();
  }
}
