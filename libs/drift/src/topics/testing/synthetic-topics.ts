// Deterministic synthetic embeddings for the topic tracker's specs and bench: unit vectors
// scattered around fixed "subject" directions, as texts on one subject embed around a common
// direction.

import { gaussian } from '../seeded-random';

export { gaussian, seededRandom } from '../seeded-random';

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
