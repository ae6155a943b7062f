import type { RolloutComparison, RolloutView } from '@tributary/contracts';
import type { RolloutWithCollection } from '@tributary/db';

/** A rollout as the API answers it, with the backfill's rate so far and its ETA. */
export function rolloutView(rollout: RolloutWithCollection, now = Date.now()): RolloutView {
  const started = rollout.backfillStartedAt?.getTime();
  const finished = rollout.backfillFinishedAt?.getTime();
  const elapsed = started === undefined ? 0 : ((finished ?? now) - started) / 1000;
  const rate = elapsed > 0 && rollout.backfillDone > 0 ? rollout.backfillDone / elapsed : null;
  const remaining = Math.max(0, rollout.backfillTotal - rollout.backfillDone);
  const eta =
    rollout.state !== 'backfilling' ? (finished ? 0 : null) : rate ? Math.ceil(remaining / rate) : null;
  return {
    id: rollout.id,
    collection: rollout.collection.name,
    from: rollout.fromModel,
    to: rollout.toModel,
    state: rollout.state,
    trafficPercent: rollout.trafficPercent,
    mode: rollout.mode,
    backfill: {
      done: rollout.backfillDone,
      total: Math.max(rollout.backfillTotal, rollout.backfillDone),
      itemsPerSecond: rate === null ? null : Math.round(rate * 10) / 10,
      etaSeconds: eta,
      startedAt: rollout.backfillStartedAt?.toISOString() ?? null,
      finishedAt: rollout.backfillFinishedAt?.toISOString() ?? null,
    },
    comparison: (rollout.comparison as RolloutComparison | null) ?? null,
    autoRollbackBelowOverlap: rollout.autoRollbackBelowOverlap,
    failureReason: rollout.failureReason,
    fleetId: rollout.fleetId,
    createdBy: rollout.createdBy,
    createdAt: rollout.createdAt.toISOString(),
    updatedAt: rollout.updatedAt.toISOString(),
    promotedAt: rollout.promotedAt?.toISOString() ?? null,
    endedAt: rollout.endedAt?.toISOString() ?? null,
    retainPreviousUntil: rollout.state === 'promoted' ? (rollout.retainUntil?.toISOString() ?? null) : null,
  };
}
