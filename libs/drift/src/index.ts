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

// Emerging topics: incremental clustering of a stream of embeddings, counted in event time.
export { DEFAULT_SIMILARITY_THRESHOLD, TopicTracker, TopicTrackerError } from './topics/topic-tracker';
export type {
  CentroidRanker,
  TopicAssignment,
  TopicItem,
  TopicSummary,
  TopicTrackerOptions,
  TopicTrackerRuntime,
  TrendingTopic,
  TrendQuery,
  TrendRepresentative,
  Trends,
} from './topics/topic-tracker';
export type {
  RepresentativeState,
  TopicState,
  TopicTrackerSettings,
  TopicTrackerState,
} from './topics/topic-state';
export { emergenceScore, logGamma, poissonUpperTail } from './topics/topic-score';
export { keywordTokens, topKeywords } from './topics/topic-keywords';
export { benchmarkTopicTracker } from './topics/topic-tracker.bench';
export type { TopicBenchOptions, TopicBenchResult } from './topics/topic-tracker.bench';
