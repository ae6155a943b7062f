// Deterministic vector data for the contract suite and the recall bench.

/** A small seeded generator (mulberry32), so every run and every adapter sees the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normally distributed components: directions spread evenly over the sphere. */
export function randomVectors(count: number, dimensions: number, seed: number): Float32Array[] {
  const random = seededRandom(seed);
  const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => Float32Array.from({ length: dimensions }, gaussian));
}

function unit(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  return vector.map((x) => x / norm);
}

/**
 * A duplicate-heavy collection, deterministically: `distinct` unit vectors spread over the sphere,
 * then `crowd` near-identical ones around one centre, as many texts from one template embed
 * (use-lite puts "templated row number N" at cosine 0.87–0.97 to each other, and far from
 * unrelated sentences). Each crowd member is the centre plus Gaussian noise of norm about 0.23, so
 * two members meet at cosine ≈ 1 / (1 + 0.23²) ≈ 0.95.
 */
export function duplicateHeavyVectors(
  distinct: number,
  crowd: number,
  dimensions: number,
  seed: number,
): { distinct: Float32Array[]; crowd: Float32Array[] } {
  const centre = unit(randomVectors(1, dimensions, seed)[0] as Float32Array);
  const noise = randomVectors(crowd, dimensions, seed + 1);
  const scale = 0.23 / Math.sqrt(dimensions);
  return {
    distinct: randomVectors(distinct, dimensions, seed + 2).map(unit),
    crowd: noise.map((n) => unit(centre.map((c, i) => c + scale * (n[i] as number)))),
  };
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}
