/**
 * Ranks of `scores` (1-based), ties sharing their average rank, as `scipy.stats.rankdata` gives.
 */
export function averageRanks(scores: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(scores.length);
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && scores[order[end]!]! === scores[order[start]!]!) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * ROC AUC of `scores` for binary `labels` (1 positive, 0 negative): the Mann–Whitney probability
 * that a positive outscores a negative, a tie counting one half. Equal to sklearn's
 * `roc_auc_score` (the trapezoidal area under the ROC curve counts ties the same way). Computed
 * from average ranks: (sum of the positives' ranks − n₁(n₁ + 1)/2) / (n₁ n₀).
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  return aucFromRanks(averageRanks(scores), labels);
}

/** `rocAuc` from precomputed `averageRanks(scores)`, so permutations of the labels reuse them. */
export function aucFromRanks(ranks: Float64Array, labels: ArrayLike<number>): number {
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < ranks.length; i++)
    if (labels[i] === 1) {
      positives++;
      rankSum += ranks[i]!;
    }
  const negatives = ranks.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('ROC AUC needs both classes');
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
