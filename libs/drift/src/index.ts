// The quality watch's numerics: drift statistics between two windows of embeddings and emerging
// topic detection over a stream of them. Pure computation: no database, queue or clock.

export { emergenceScore, logGamma, poissonUpperTail } from './topics/topic-score';
export { keywordTokens, topKeywords } from './topics/topic-keywords';
