import { z } from 'zod';

/**
 * The drift methods, Evidently's embedding-drift methods with its defaults (see libs/drift):
 * `model` a domain classifier's ROC AUC, `ratio` the share of drifted components (Wasserstein),
 * `distance` between the windows' mean embeddings, `mmd` maximum mean discrepancy.
 */
export const driftMethods = ['model', 'ratio', 'distance', 'mmd'] as const;
export type DriftMethod = (typeof driftMethods)[number];

/** A half-open window of event time `[from, to)`: an item's `timestamp` when it had one, else when it was accepted. */
export const eventWindowSchema = z
  .object({
    from: z.iso.datetime({ offset: true }).describe('Start of the window (included)'),
    to: z.iso.datetime({ offset: true }).describe('End of the window (excluded)'),
  })
  .strict()
  .refine((w) => Date.parse(w.from) < Date.parse(w.to), { message: '`from` must be before `to`' });

export const createDriftReportSchema = z
  .object({
    reference: eventWindowSchema.describe('The window compared against'),
    current: eventWindowSchema.describe('The window checked for drift'),
    sampleSize: z
      .number()
      .int()
      .min(10)
      .max(10_000)
      .optional()
      .describe('Items sampled per window at most (default DRIFT_SAMPLE_SIZE, 2,000)'),
    methods: z
      .array(z.enum(driftMethods))
      .min(1)
      .max(driftMethods.length)
      .refine((m) => new Set(m).size === m.length, { message: 'a method is named twice' })
      .optional()
      .describe('Methods to run (default: all four)'),
    verdictMethod: z
      .enum(driftMethods)
      .optional()
      .describe("Whose verdict is the report's (default: the collection's, `model` unless set)"),
    seed: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        'Fixes the samples and the methods’ randomness: an earlier report’s seed reproduces it (default: the report id)',
      ),
  })
  .strict()
  .refine((r) => !r.verdictMethod || !r.methods || r.methods.includes(r.verdictMethod), {
    message: 'verdictMethod must be one of methods',
    path: ['verdictMethod'],
  })
  .meta({
    example: {
      reference: { from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' },
      current: { from: '2026-12-02T00:00:00Z', to: '2026-12-03T00:00:00Z' },
      sampleSize: 2000,
    },
  });
export type CreateDriftReport = z.infer<typeof createDriftReportSchema>;

export const reportStates = ['running', 'done', 'failed'] as const;

export const driftMethodResultSchema = z.object({
  method: z.enum(driftMethods),
  value: z.number().describe('The statistic (ROC AUC, drifted share, distance, MMD²)'),
  threshold: z.number().describe('Above it the method says drift'),
  drifted: z.boolean(),
  pValue: z.number().optional().describe('Where the method has one (`mmd`: a permutation test)'),
});
export type DriftMethodResult = z.infer<typeof driftMethodResultSchema>;

const exampleDriftReport = {
  id: '5f0c2d9e-8b1a-4c7d-9e3f-2a6b8c0d1e4f',
  state: 'done',
  trigger: 'on_demand',
  model: 'use-lite@1',
  drifted: true,
  verdictMethod: 'model',
  reference: { from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z', n: 2000 },
  current: { from: '2026-12-02T00:00:00.000Z', to: '2026-12-03T00:00:00.000Z', n: 2000 },
  sampleSize: 2000,
  seed: '5f0c2d9e-8b1a-4c7d-9e3f-2a6b8c0d1e4f',
  methods: [
    { method: 'model', value: 0.71, threshold: 0.55, drifted: true },
    { method: 'ratio', value: 0.35, threshold: 0.2, drifted: true },
    { method: 'distance', value: 0.24, threshold: 0.2, drifted: true },
    { method: 'mmd', value: 0.021, threshold: 0.015, drifted: true, pValue: 0.0099 },
  ],
  note: null,
  createdAt: '2026-12-03T00:00:01.000Z',
  finishedAt: '2026-12-03T00:00:03.000Z',
} as const;

const reportWindowSchema = z.object({
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  n: z.number().int().nullable().describe('Items of the window with a vector (null while running)'),
});

export const driftReportSchema = z
  .object({
    id: z.uuid(),
    state: z.enum(reportStates),
    trigger: z.enum(['scheduled', 'on_demand']),
    model: z.string().describe('The model version compared (the serving one when it ran)'),
    drifted: z
      .boolean()
      .nullable()
      .describe('The verdict method’s; null while running, failed, or when a window had too few items'),
    verdictMethod: z.enum(driftMethods),
    reference: reportWindowSchema,
    current: reportWindowSchema,
    sampleSize: z.number().int(),
    seed: z.string().describe('The same windows and seed give the same sample'),
    methods: z.array(driftMethodResultSchema),
    note: z.string().nullable().describe('Why there is no verdict (too few items), or why it failed'),
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
  })
  .meta({ example: exampleDriftReport });
export type DriftReportView = z.infer<typeof driftReportSchema>;

export const driftReportAcceptedSchema = z
  .object({ id: z.uuid(), state: z.enum(reportStates) })
  .meta({ example: { id: exampleDriftReport.id, state: 'running' } });

export const driftReportListSchema = z
  .object({ data: z.array(driftReportSchema) })
  .meta({ example: { data: [exampleDriftReport] } });

export const driftSettingsSchema = z
  .object({
    baseline: eventWindowSchema
      .nullable()
      .optional()
      .describe('A pinned reference window for scheduled reports; null: the previous window again'),
    verdictMethod: z.enum(driftMethods).optional(),
  })
  .strict()
  .refine((s) => s.baseline !== undefined || s.verdictMethod !== undefined, {
    message: 'name baseline or verdictMethod',
  })
  .meta({ example: { baseline: { from: '2026-11-01T00:00:00Z', to: '2026-11-08T00:00:00Z' } } });
export type DriftSettings = z.infer<typeof driftSettingsSchema>;

export const driftSettingsViewSchema = z
  .object({
    baseline: z.object({ from: z.iso.datetime(), to: z.iso.datetime() }).nullable(),
    verdictMethod: z.enum(driftMethods),
  })
  .meta({ example: { baseline: null, verdictMethod: 'model' } });

const exampleSelfCheck = {
  id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  model: 'use-lite@1',
  sampled: 200,
  minCosine: 0.99999,
  meanCosine: 1,
  threshold: 0.999,
  belowShare: 0,
  passed: true,
  worst: [{ streamId: '1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9', itemId: 'tweet-17', cosine: 0.99999 }],
  createdAt: '2026-12-03T00:00:02.000Z',
} as const;

export const selfCheckSchema = z
  .object({
    id: z.uuid(),
    model: z.string(),
    sampled: z.number().int().describe('Stored inputs re-embedded'),
    minCosine: z.number().nullable(),
    meanCosine: z.number().nullable(),
    threshold: z.number().describe('SELF_CHECK_MIN_COSINE for this version'),
    belowShare: z.number().nullable().describe('Share of the sample under the threshold'),
    passed: z.boolean(),
    worst: z
      .array(z.object({ streamId: z.uuid(), itemId: z.string(), cosine: z.number() }))
      .describe('The lowest cosines, lowest first'),
    createdAt: z.iso.datetime(),
  })
  .meta({ example: exampleSelfCheck });
export type SelfCheckView = z.infer<typeof selfCheckSchema>;

export const selfCheckListSchema = z
  .object({ data: z.array(selfCheckSchema) })
  .meta({ example: { data: [exampleSelfCheck] } });

export const trendsQuerySchema = z
  .object({
    from: z.iso
      .datetime({ offset: true })
      .describe('Start of the window (included; default: to − TRENDS_WINDOW_MS)'),
    to: z.iso
      .datetime({ offset: true })
      .describe('End of the window (excluded; default: the newest event time seen)'),
    limit: z.coerce.number().int().min(1).max(100).default(10),
  })
  .partial({ from: true, to: true })
  .strict()
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), {
    message: '`from` must be before `to`',
  });
export type TrendsQuery = z.infer<typeof trendsQuerySchema>;

const exampleTrends = {
  model: 'use-lite@1',
  from: '2026-12-03T10:00:00.000Z',
  to: '2026-12-03T11:00:00.000Z',
  readThrough: '2026-12-03T10:59:58.120Z',
  topics: [
    {
      id: 't42',
      score: 9.7,
      count: 180,
      baseline: 4.2,
      firstSeen: '2026-12-03T10:12:00.000Z',
      representatives: [{ id: 'tweet-881', text: 'Power is out across the whole east side' }],
      keywords: ['power', 'outage', 'east'],
    },
  ],
} as const;

export const trendsSchema = z
  .object({
    model: z.string().describe('The model version whose vector space the topics are in'),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    readThrough: z.iso
      .datetime()
      .nullable()
      .describe('The newest event time the tracker has read (null before it read anything)'),
    topics: z
      .array(
        z.object({
          id: z.string(),
          score: z.number().describe('How far the window’s count is above the topic’s own baseline'),
          count: z.number().int().describe('Items of the topic in the window'),
          baseline: z.number().describe('Items expected in a window this long, from the topic’s past'),
          firstSeen: z.iso.datetime(),
          representatives: z.array(z.object({ id: z.string(), text: z.string() })),
          keywords: z.array(z.string()).optional(),
        }),
      )
      .describe('Highest score first'),
  })
  .meta({ example: exampleTrends });
export type TrendsView = z.infer<typeof trendsSchema>;
