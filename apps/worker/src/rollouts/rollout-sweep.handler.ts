import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { RolloutRepository } from '@tributary/db';
import { EmbedQueues, type JobHandler } from '@tributary/queue';

/** Vectors of retired versions deleted per statement, and for how long per sweep at most. */
const PURGE_BATCH = 5_000;
const PURGE_MS = 10_000;

/**
 * `RolloutSweep` (scheduled): retires the previous versions of promotions whose retention
 * (`ROLLOUT_RETAIN_PREVIOUS_HOURS`) ended (the API removes their indexes), deletes the vectors of
 * retired versions, and puts a backfill whose job was lost (Redis lost it; its cursor has not
 * moved for ORPHANED_AFTER_MS) on its queue again. A backfill still running is not disturbed: a
 * second delivery finds the cursor moved and stops.
 */
@Injectable()
export class RolloutSweepHandler implements JobHandler<'RolloutSweep'> {
  readonly job = 'RolloutSweep' as const;
  private readonly logger = new Logger('RolloutSweep');

  constructor(
    private readonly rollouts: RolloutRepository,
    private readonly queues: EmbedQueues,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  async handle(): Promise<{ retired: number; purged: number; resumed: number }> {
    const retired = await this.rollouts.retireExpired();
    if (retired.length > 0)
      this.logger.log(`retired ${retired.length} previous versions: ${retired.join(', ')}`);
    // Retired versions' vectors (a rollback, a failure, a retention's end) go in batches, for a
    // bounded time per sweep; the next sweep goes on.
    let purged = 0;
    const until = Date.now() + PURGE_MS;
    for (;;) {
      const n = await this.rollouts.purgeRetiredVectors(PURGE_BATCH);
      purged += n;
      if (n < PURGE_BATCH || Date.now() >= until) break;
    }
    if (purged > 0) this.logger.log(`removed ${purged} vectors of retired versions`);
    const stalled = await this.rollouts.backfillingAcrossTenants(this.config.ORPHANED_AFTER_MS);
    for (const rollout of stalled) {
      await this.queues.enqueueBackfill(
        rollout.toModel,
        { tenantId: rollout.tenantId, rolloutId: rollout.id },
        `resume-${rollout.backfillDone}-${Date.now()}`,
      );
      this.logger.warn(`rollout ${rollout.id}: backfill resumed from its cursor (its job was lost)`);
    }
    return { retired: retired.length, purged, resumed: stalled.length };
  }
}
