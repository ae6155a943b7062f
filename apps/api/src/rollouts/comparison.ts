/**
 * How alike two versions' answers to one query are: the share of the top k both return
 * (overlap@k) and the Spearman correlation of the ranks of the results both return. The
 * comparison of a rollout averages them over stored inputs used as queries, and in shadow mode
 * over real queries.
 */

/** |top_k(a) ∩ top_k(b)| / k, k cut to the longer list (two empty answers agree: 1). */
export function overlapAt(k: number, a: readonly string[], b: readonly string[]): number {
  const left = a.slice(0, k);
  const right = new Set(b.slice(0, k));
  const size = Math.max(left.length, right.size);
  if (size === 0) return 1;
  return left.filter((id) => right.has(id)).length / size;
}

/**
 * Spearman's rank correlation of the results both answers share, each ranked by its position in
 * either answer (1 = the same order, -1 = reversed); null when fewer than two are shared.
 */
export function sharedRankCorrelation(a: readonly string[], b: readonly string[]): number | null {
  const inB = new Map(b.map((id, i) => [id, i]));
  const shared = a.filter((id) => inB.has(id));
  const n = shared.length;
  if (n < 2) return null;
  // Ranks among the shared items: their order in `a` is 0..n-1; in `b`, by position there.
  const rankInB = new Map(
    [...shared].sort((x, y) => inB.get(x)! - inB.get(y)!).map((id, rank) => [id, rank]),
  );
  let d2 = 0;
  shared.forEach((id, rank) => {
    const d = rank - rankInB.get(id)!;
    d2 += d * d;
  });
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/** The nearest-rank percentile (p in [0, 100]) of values; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Mean of the values that are numbers; null for none. */
export function mean(values: readonly (number | null)[]): number | null {
  const numbers = values.filter((v): v is number => v !== null);
  return numbers.length === 0 ? null : numbers.reduce((s, v) => s + v, 0) / numbers.length;
}
