import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { RolloutRepository } from '@tributary/db';
import { EmbedQueues, type JobHandler } from '@tributary/queue';

/**
 * `RolloutSweep` (scheduled): retires the previous versions of promotions whose retention
 * (`ROLLOUT_RETAIN_PREVIOUS_HOURS`) ended, so their vectors go and the API removes their indexes,
 * and puts a backfill whose job was lost (Redis lost it; its cursor has not moved for
 * ORPHANED_AFTER_MS) on its queue again. A backfill still running is not disturbed: a second
 * delivery finds the cursor moved and stops.
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

  async handle(): Promise<{ retired: number; resumed: number }> {
    const retired = await this.rollouts.retireExpired();
    if (retired.length > 0)
      this.logger.log(`retired ${retired.length} previous versions: ${retired.join(', ')}`);
    const stalled = await this.rollouts.backfillingAcrossTenants(this.config.ORPHANED_AFTER_MS);
    for (const rollout of stalled) {
      await this.queues.enqueueBackfill(
        rollout.toModel,
        { tenantId: rollout.tenantId, rolloutId: rollout.id },
        `resume-${rollout.backfillDone}-${Date.now()}`,
      );
      this.logger.warn(`rollout ${rollout.id}: backfill resumed from its cursor (its job was lost)`);
    }
    return { retired: retired.length, resumed: stalled.length };
  }
}
