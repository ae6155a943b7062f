import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CONFIG, redisUrlOf, type Config } from '@tributary/config';
import {
  createQueue,
  jobOptions,
  legacyNamesOf,
  queueOf,
  type Queue,
  type SingleQueueJob,
} from '@tributary/queue';

/** The longest wait between two drift fan-outs, whatever the report period. */
const DRIFT_FAN_OUT_MAX_MS = 3_600_000;

/** A recurring job: BullMQ job schedulers are idempotent, so a restarted scheduler just re-asserts them. */
interface Schedule {
  job: SingleQueueJob;
  everyMs: number;
}

/**
 * The one logical scheduler. It only produces jobs (BullMQ job schedulers); workers run them. No
 * API replica schedules anything, so scaling the API never multiplies recurring work.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Scheduler');
  private readonly queues = new Map<string, Queue>();

  constructor(@Inject(CONFIG) private readonly config: Config) {}

  schedules(): Schedule[] {
    return [
      { job: 'ApiKeyUsageFlush', everyMs: this.config.KEY_USAGE_FLUSH_EVERY_MS },
      { job: 'OrphanedItemsRequeue', everyMs: this.config.ORPHAN_SWEEP_EVERY_MS },
      { job: 'RolloutSweep', everyMs: this.config.ROLLOUT_SWEEP_EVERY_MS },
      // At least hourly, so a lost fan-out delays a window's report by an hour at most (a window
      // is reported once, however often this runs).
      {
        job: 'DriftReportQueueAll',
        everyMs: Math.min(this.config.DRIFT_REPORT_EVERY_MS, DRIFT_FAN_OUT_MAX_MS),
      },
      { job: 'EmbeddingSelfCheckQueueAll', everyMs: this.config.SELF_CHECK_EVERY_MS },
      { job: 'TopicsUpdateQueueAll', everyMs: this.config.TRENDS_UPDATE_EVERY_MS },
    ];
  }

  async onApplicationBootstrap(): Promise<void> {
    const url = redisUrlOf(this.config);
    for (const { job, everyMs } of this.schedules()) {
      const name = queueOf(job);
      let queue = this.queues.get(name);
      if (!queue) {
        queue = createQueue(name, { redisUrl: url, prefix: this.config.REDIS_PREFIX }, `scheduler:${name}`);
        this.queues.set(name, queue);
      }
      await queue.upsertJobScheduler(job, { every: everyMs }, { name: job, data: {}, opts: jobOptions[job] });
      // The same job under its name before an upgrade would run twice as often.
      for (const legacy of legacyNamesOf(job)) {
        if (await queue.removeJobScheduler(legacy))
          this.logger.log(`removed the job scheduler ${legacy}, now ${job}`);
      }
      this.logger.log(`scheduled ${job} every ${everyMs} ms on ${name}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
