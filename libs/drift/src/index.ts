// The quality watch's numerics: drift statistics between two windows of embeddings and emerging
// topic detection over a stream of them. Pure computation: no database, queue or clock.

// Drift statistics (Evidently's embedding-drift methods).
export { DRIFT_METHODS, driftReport } from './stats/drift-report';
export type {
  DriftMethodResults,
  DriftReport,
  DriftReportOptions,
  DriftReportResult,
  InsufficientDriftData,
  WindowRows,
} from './stats/drift-report';
export type { DriftMethodName, DriftMethodResult } from './stats/drift-result';
export { DriftInputError } from './stats/embedding-matrix';
export type { EmbeddingVector, EmbeddingWindow } from './stats/embedding-matrix';
export { modelDrift } from './stats/model-drift';
export type { ModelDriftOptions, ModelDriftResult } from './stats/model-drift';
export { ratioDrift } from './stats/ratio-drift';
export type { RatioDriftOptions, RatioDriftResult } from './stats/ratio-drift';
export { distanceDrift } from './stats/distance-drift';
export type { DistanceDriftOptions, DistanceDriftResult, MeanDistanceMetric } from './stats/distance-drift';
export { mmdDrift } from './stats/mmd-drift';
export type { MmdDriftOptions, MmdDriftResult } from './stats/mmd-drift';
export { rocAuc } from './stats/roc-auc';
export { seededSample } from './stats/seeded-random';
export { wasserstein1d } from './stats/wasserstein';
