// Deterministic synthetic embeddings for the topic tracker's specs and bench: unit vectors
// scattered around fixed "subject" directions, as texts on one subject embed around a common
// direction.

/** A small seeded generator (mulberry32), so every run sees the same data. */
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

/** A standard normal draw (Box–Muller) from `random`. */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function unit(vector: Float32Array): Float32Array {
  let norm2 = 0;
  for (const x of vector) norm2 += x * x;
  const scale = 1 / Math.sqrt(norm2);
  return vector.map((x) => x * scale);
}

/** A direction spread evenly over the sphere. */
export function randomDirection(dimensions: number, random: () => number): Float32Array {
  return unit(Float32Array.from({ length: dimensions }, () => gaussian(random)));
}

/**
 * A unit vector near `direction`: the direction plus Gaussian noise of norm about `noise`, so its
 * cosine to the direction is about 1 / √(1 + noise²) and two such vectors meet at about
 * 1 / (1 + noise²) (noise 0.5: 0.89 and 0.8).
 */
export function nearDirection(direction: Float32Array, noise: number, random: () => number): Float32Array {
  const scale = noise / Math.sqrt(direction.length);
  return unit(direction.map((x) => x + scale * gaussian(random)));
}
