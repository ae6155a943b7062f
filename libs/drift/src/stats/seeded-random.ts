import { type RandomGenerator, unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import { DriftInputError } from './embedding-matrix';

/**
 * murmur3's 32-bit finalizer over the seed's two 32-bit halves and a stream number. xoroshiro128+
 * is seeded from the raw 32 bits, so neighbouring seeds (0, 1, 2…) would start in neighbouring
 * states; mixing first spreads them, and the stream number gives each use of one seed (sampling a
 * window, splitting for the classifier, permutations) a sequence of its own.
 */
export function deriveSeed(seed: number, stream: number): number {
  if (!Number.isSafeInteger(seed)) throw new DriftInputError(`seed must be a safe integer, got ${seed}`);
  let h = Math.imul((seed | 0) ^ Math.imul(stream + 1, 0x9e3779b9), 0x85ebca6b);
  h ^= Math.floor(seed / 2 ** 32) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A seeded xoroshiro128+ stream (pure-rand) with the few draws the statistics need. */
export class SeededRandom {
  private readonly rng: RandomGenerator;

  constructor(seed: number, stream = 0) {
    this.rng = xoroshiro128plus(deriveSeed(seed, stream));
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return unsafeUniformIntDistribution(0, n - 1, this.rng);
  }

  /** Uniform double in [0, 1) from 53 random bits. */
  float(): number {
    const high = this.rng.unsafeNext() >>> 5;
    const low = this.rng.unsafeNext() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** Fisher–Yates shuffle of the first `count` positions of `array` (all of it by default), in place. */
  shuffle<T extends { length: number; [index: number]: number }>(array: T, count = array.length): T {
    const last = Math.min(count, array.length - 1);
    for (let i = 0; i < last; i++) {
      const j = i + this.int(array.length - i);
      const held = array[i]!;
      array[i] = array[j]!;
      array[j] = held;
    }
    return array;
  }
}

/** 0, 1, …, n − 1. */
export function range(n: number): Int32Array {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  return indices;
}

/** `n` of `length` indices drawn without replacement, in ascending order. */
export function sampleIndices(length: number, n: number, random: SeededRandom): Int32Array {
  if (n >= length) return range(length);
  return random.shuffle(range(length), n).slice(0, n).sort();
}

/**
 * `n` rows drawn without replacement, kept in their original order; all of them (a copy) when the
 * window has no more than `n`. The same rows, `n` and seed always give the same sample.
 */
export function seededSample<T>(rows: readonly T[], n: number, seed: number): T[] {
  if (!Number.isInteger(n) || n < 0)
    throw new DriftInputError(`sample size must be a whole number, got ${n}`);
  if (n >= rows.length) return rows.slice();
  return Array.from(sampleIndices(rows.length, n, new SeededRandom(seed)), (i) => rows[i]!);
}
