// How far a topic's count in a window stands above its own baseline.
//
// This follows the point-by-point and cycle-corrected Poisson background models of Twitter's
// "Trend Detection in Social Data" (Hendrickson, Kolb, Lehman, Montague; Twitter, Inc., the
// Gnip-Trend-Detection whitepaper and its `Poisson` model): a topic's count in a window is taken
// as Poisson-distributed around a background mean ν under the null hypothesis "no trend", and a
// count unlikely under it is a trend. The paper takes ν from the previous window and recommends
// steadying it with an average over a rolling run of windows, which is what the tracker does (the
// mean count per window over the windows just before the one scored). Its figure of merit η is
// the distance from ν in units of a Poisson confidence interval, which for the means met here is
// ∝ √ν; the z-score below is η up to that constant, without its confidence level to choose, and
// the exact upper-tail p-value is given beside it for callers that want a probability. Like the
// paper we only look for atypical increases. What we add: a floor on ν, so that a topic with no
// history (a new one) has a finite score and can emerge, and a minimum count, so that a topic
// going from 0 to 2 items does not top the list (the paper's small-count caveat).

/**
 * The emergence score of `count` items in a window against a `baseline` (the expected count in a
 * window of that length, already floored above 0): the Poisson z-score (count − ν) / √ν. Positive
 * above the baseline, negative below; a steady Poisson topic scores about N(0, 1).
 */
export function emergenceScore(count: number, baseline: number): number {
  if (!(baseline > 0)) throw new RangeError(`The baseline must be above 0 (floor it), not ${baseline}`);
  return (count - baseline) / Math.sqrt(baseline);
}

// Lanczos approximation (g = 7, 9 terms): ln Γ(x) to about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * P(X ≥ `count`) for X ~ Poisson(`mean`): the chance of at least this many items in the window if
 * the topic were only running at its baseline. Summed from whichever tail is the smaller so that
 * tiny p-values keep their digits (1 − lower tail would round them to 0).
 */
export function poissonUpperTail(count: number, mean: number): number {
  if (!Number.isInteger(count)) throw new RangeError(`A count is a whole number, not ${count}`);
  if (!(mean >= 0)) throw new RangeError(`A Poisson mean is at least 0, not ${mean}`);
  if (count <= 0) return 1;
  if (mean === 0) return 0;
  const logMean = Math.log(mean);
  const term = (k: number): number => Math.exp(k * logMean - mean - logGamma(k + 1));
  if (count > mean) {
    // Terms fall from k = count on (their ratio mean / (k + 1) is below 1).
    let sum = 0;
    for (let k = count, t = term(k); t > sum * 1e-17; k++, t *= mean / k) sum += t;
    return Math.min(1, sum);
  }
  // Lower tail from k = count − 1 down (ratio k / mean is below 1).
  let lower = 0;
  for (let k = count - 1, t = term(k); k >= 0 && t > lower * 1e-17; t *= k / mean, k--) lower += t;
  return Math.max(0, 1 - lower);
}
