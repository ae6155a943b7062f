// Seeded data for the specs, so every run sees the same vectors and signals.
import { type RandomGenerator, unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';

const UNIT = 2 ** 30;

/** A seeded source of uniform draws; 30 bits per double is ample for test data. */
export class TestRandom {
  private readonly rng: RandomGenerator;

  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return unsafeUniformIntDistribution(0, UNIT - 1, this.rng) / UNIT;
  }

  /** Standard normal (Box–Muller); 1 − u keeps the logarithm's argument in (0, 1]. */
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.uniform())) * Math.cos(2 * Math.PI * this.uniform());
  }

  /** A direction drawn uniformly from the unit sphere in `dimensions`. */
  unitVector(dimensions: number): Float32Array {
    const v = Float64Array.from({ length: dimensions }, () => this.normal());
    const length = Math.hypot(...v);
    return Float32Array.from(v, (x) => x / length);
  }

  /** A shuffled copy of `items` (Fisher–Yates from the end). */
  shuffled<T>(items: readonly T[]): T[] {
    const copy = items.slice();
    for (let i = copy.length - 1; i > 0; i--) {
      const j = unsafeUniformIntDistribution(0, i, this.rng);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }
}

/** Largest absolute difference between two vectors of one length. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
