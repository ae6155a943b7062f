// The quality watch's numerics: drift statistics between two windows of embeddings and emerging
// topic detection over a stream of them. Pure computation: no database, queue or clock.

// Emerging topics: incremental clustering of a stream of embeddings, counted in event time.
export { DEFAULT_SIMILARITY_THRESHOLD, TopicTracker, TopicTrackerError } from './topics/topic-tracker';
export type {
  TopicAssignment,
  TopicItem,
  TopicSummary,
  TopicTrackerOptions,
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
