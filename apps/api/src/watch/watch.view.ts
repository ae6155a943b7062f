import type { DriftMethod, DriftMethodResult, DriftReportView, SelfCheckView } from '@tributary/contracts';
import type { DriftReport, SelfCheckReport } from '@tributary/db';

/** A drift report as the API answers it. */
export function driftReportView(r: DriftReport): DriftReportView {
  return {
    id: r.id,
    state: r.state,
    trigger: r.trigger as DriftReportView['trigger'],
    model: r.model,
    drifted: r.drifted,
    verdictMethod: r.verdictMethod as DriftMethod,
    reference: { from: r.referenceFrom.toISOString(), to: r.referenceTo.toISOString(), n: r.referenceN },
    current: { from: r.currentFrom.toISOString(), to: r.currentTo.toISOString(), n: r.currentN },
    sampleSize: r.sampleSize,
    seed: r.seed,
    methods: (r.results as DriftMethodResult[] | null) ?? [],
    note: r.note,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

/** A self-check as the API answers it. */
export function selfCheckView(r: SelfCheckReport): SelfCheckView {
  return {
    id: r.id,
    model: r.model,
    sampled: r.sampled,
    minCosine: r.minCosine,
    meanCosine: r.meanCosine,
    threshold: r.threshold,
    belowShare: r.belowShare,
    passed: r.passed,
    worst: r.worst as SelfCheckView['worst'],
    createdAt: r.createdAt.toISOString(),
  };
}
