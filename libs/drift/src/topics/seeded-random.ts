// Seeded pseudo-random numbers: the tracker's sketch projection must be the same in every process
// (and the specs' data the same in every run).
import { SeededRandom } from '../stats/seeded-random';

/** Uniform doubles in [0, 1) from the statistics' seeded generator (one generator in libs/drift). */
export function seededRandom(seed: number): () => number {
  const random = new SeededRandom(seed);
  return () => random.float();
}

/** A standard normal draw (Box–Muller) from `random`. */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
