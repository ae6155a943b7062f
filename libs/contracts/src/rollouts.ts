import { z } from 'zod';
import { modelIdSchema } from './tenants';

/**
 * A rollout's states. `backfilling` → `ready` (candidate complete and caught up) → optionally
 * `canary` (a share of searches served by the candidate) or `shadow` (searches also run on the
 * candidate and compared) → `promoted` or `rolled_back`; `failed` with a reason. A promoted rollout
 * can still be rolled back while the previous version is retained.
 */
export const rolloutStates = [
  'backfilling',
  'ready',
  'canary',
  'shadow',
  'promoted',
  'rolled_back',
  'failed',
] as const;
export type RolloutState = (typeof rolloutStates)[number];

/** States of the one rollout a collection may have going: its candidate is live (dual-written). */
export const activeRolloutStates = [
  'backfilling',
  'ready',
  'canary',
  'shadow',
] as const satisfies RolloutState[];
/** States a rollout can be promoted from (its candidate is complete). */
export const promotableRolloutStates = ['ready', 'canary', 'shadow'] as const satisfies RolloutState[];
/** States a rollout can be rolled back from (promoted: while the previous version is retained). */
export const rollbackableRolloutStates = [
  ...activeRolloutStates,
  'promoted',
] as const satisfies RolloutState[];

export const rolloutModes = ['canary', 'shadow'] as const;
export type RolloutMode = (typeof rolloutModes)[number];

/**
 * The state a complete candidate is in for a mode and share: `shadow` in shadow mode, `canary` when
 * a share of searches goes to it, else `ready`.
 */
export function servingStateFor(mode: RolloutMode, trafficPercent: number): 'ready' | 'canary' | 'shadow' {
  if (mode === 'shadow') return 'shadow';
  return trafficPercent > 0 ? 'canary' : 'ready';
}

const trafficPercentSchema = z
  .number()
  .int()
  .min(0)
  .max(100)
  .describe('Share of searches (0–100) answered by the candidate once it is ready (canary mode)');

export const createRolloutSchema = z
  .object({
    model: modelIdSchema.describe('The candidate model version'),
    trafficPercent: trafficPercentSchema.default(0),
    mode: z.enum(rolloutModes).default('canary').describe('`shadow`: searches also run on the candidate'),
    autoRollbackBelowOverlap: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe('Rolls back on its own when the comparison’s mean overlap@10 falls below this'),
  })
  .strict()
  .meta({ example: { model: 'use-lite-int8@1', trafficPercent: 0, mode: 'canary' } });
export type CreateRollout = z.infer<typeof createRolloutSchema>;

export const updateRolloutSchema = z
  .object({ trafficPercent: trafficPercentSchema.optional(), mode: z.enum(rolloutModes).optional() })
  .strict()
  .refine((v) => v.trafficPercent !== undefined || v.mode !== undefined, {
    message: 'name trafficPercent or mode',
  })
  .meta({ example: { trafficPercent: 10 } });
export type UpdateRollout = z.infer<typeof updateRolloutSchema>;

export const createFleetRolloutSchema = z
  .object({
    from: modelIdSchema.describe('Every collection served by this version…'),
    to: modelIdSchema.describe('…moves to this one'),
    trafficPercent: trafficPercentSchema.default(0),
    mode: z.enum(rolloutModes).default('canary'),
    tenants: z.array(z.uuid()).min(1).max(1000).optional().describe('Only these tenants (default: all)'),
  })
  .strict()
  .meta({ example: { from: 'use-lite@1', to: 'use-lite-int8@1', trafficPercent: 0 } });
export type CreateFleetRollout = z.infer<typeof createFleetRolloutSchema>;

const latencySchema = z.object({ p50: z.number(), p99: z.number() }).describe('Milliseconds');

export const rolloutComparisonSchema = z
  .object({
    computedAt: z.iso.datetime(),
    sample: z.number().int().describe('Stored inputs used as queries'),
    k: z.number().int(),
    overlapAt10: z.number().describe('Mean share of the top 10 both versions return'),
    rankCorrelation: z.number().describe('Mean Spearman correlation of the shared results’ ranks'),
    searchLatencyMs: z.object({ from: latencySchema, to: latencySchema }),
    embeddingsPerSecond: z.object({ from: z.number(), to: z.number() }),
    points: z.object({ from: z.number().int(), to: z.number().int() }),
    shadow: z
      .object({
        queries: z.number().int(),
        overlapAt10: z.number().nullable(),
        rankCorrelation: z.number().nullable(),
        searchLatencyMs: z.object({ from: latencySchema.nullable(), to: latencySchema.nullable() }),
      })
      .optional()
      .describe('Over real queries, in shadow mode'),
  })
  .nullable();
export type RolloutComparison = z.infer<typeof rolloutComparisonSchema>;

/** The rollout the API documentation shows. */
const exampleRollout = {
  id: '0b9d7c4e-2f8a-4c1e-9b6d-3a5f7e1c2d4b',
  collection: 'tweets',
  from: 'use-lite@1',
  to: 'use-lite-int8@1',
  state: 'backfilling',
  trafficPercent: 0,
  mode: 'canary',
  backfill: {
    done: 1200,
    total: 5000,
    itemsPerSecond: 480,
    etaSeconds: 8,
    startedAt: '2026-12-03T10:00:00.000Z',
    finishedAt: null,
  },
  comparison: null,
  autoRollbackBelowOverlap: null,
  failureReason: null,
  fleetId: null,
  createdBy: 'key:5a1c0f9e-3d8b-4c35-9a57-1b8e2f0c7d41',
  createdAt: '2026-12-03T10:00:00.000Z',
  updatedAt: '2026-12-03T10:00:02.500Z',
  promotedAt: null,
  endedAt: null,
  retainPreviousUntil: null,
} as const;

export const rolloutSchema = z
  .object({
    id: z.uuid(),
    collection: z.string(),
    from: z.string(),
    to: z.string(),
    state: z.enum(rolloutStates),
    trafficPercent: z.number().int(),
    mode: z.enum(rolloutModes),
    backfill: z.object({
      done: z.number().int(),
      total: z.number().int(),
      itemsPerSecond: z.number().nullable(),
      etaSeconds: z.number().nullable().describe('Until the backfill is done, at its rate so far'),
      startedAt: z.iso.datetime().nullable(),
      finishedAt: z.iso.datetime().nullable(),
    }),
    comparison: rolloutComparisonSchema,
    autoRollbackBelowOverlap: z.number().nullable(),
    failureReason: z.string().nullable(),
    fleetId: z.uuid().nullable(),
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    promotedAt: z.iso.datetime().nullable(),
    endedAt: z.iso.datetime().nullable(),
    retainPreviousUntil: z.iso.datetime().nullable(),
  })
  .meta({ example: exampleRollout });
export type RolloutView = z.infer<typeof rolloutSchema>;

export const rolloutListSchema = z
  .object({ data: z.array(rolloutSchema) })
  .meta({ example: { data: [exampleRollout] } });

const exampleFleet = {
  id: '7d3e9a1c-5b2f-4e8d-a6c4-1f0b9e8d7c6a',
  from: 'use-lite@1',
  to: 'use-lite-int8@1',
  rollouts: [{ ...exampleRollout, tenantId: '3c2b1a09-8f7e-4d6c-b5a4-938271605f4e' }],
  skipped: [],
  progress: { collections: 1, backfillDone: 1200, backfillTotal: 5000, byState: { backfilling: 1 } },
};

export const fleetRolloutSchema = z
  .object({
    id: z.uuid(),
    from: z.string(),
    to: z.string(),
    rollouts: z.array(rolloutSchema.extend({ tenantId: z.uuid() })),
    skipped: z
      .array(z.object({ tenantId: z.uuid(), collection: z.string(), reason: z.string() }))
      .describe('Collections served by `from` that could not start (one already has a rollout going)'),
    progress: z.object({
      collections: z.number().int(),
      backfillDone: z.number().int(),
      backfillTotal: z.number().int(),
      byState: z.record(z.string(), z.number().int()),
    }),
  })
  .meta({ example: exampleFleet });
export const fleetRolloutListSchema = z
  .object({ data: z.array(fleetRolloutSchema) })
  .meta({ example: { data: [exampleFleet] } });
export type FleetRolloutView = z.infer<typeof fleetRolloutSchema>;

export const auditEventSchema = z.object({
  id: z.string(),
  at: z.iso.datetime(),
  actor: z.string().describe('`admin`, `key:<api key id>` or `system:<reason>`'),
  tenantId: z.uuid().nullable(),
  action: z.string(),
  target: z.string(),
  details: z.unknown().nullable(),
});
export const auditListSchema = z.object({ data: z.array(auditEventSchema) }).meta({
  example: {
    data: [
      {
        id: '42',
        at: '2026-12-03T10:05:00.000Z',
        actor: 'key:5a1c0f9e-3d8b-4c35-9a57-1b8e2f0c7d41',
        tenantId: '3c2b1a09-8f7e-4d6c-b5a4-938271605f4e',
        action: 'rollout.promote',
        target: 'collection:tweets/rollout:0b9d7c4e-2f8a-4c1e-9b6d-3a5f7e1c2d4b',
        details: { serving: 'use-lite-int8@1' },
      },
    ],
  },
});
