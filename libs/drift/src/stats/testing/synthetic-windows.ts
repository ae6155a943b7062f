import { SeededRandom } from '../seeded-random';

// Math's functions as module constants: inside a vm context (jest's) each `Math.` in a hot loop is a
// slow global lookup, 4–20× slower here; outside it this costs nothing.
const { sqrt, log, cos, PI } = Math;

/** Standard normal draw (Box–Muller, the second value of each pair dropped). */
export function normal(random: SeededRandom): number {
  return sqrt(-2 * log(1 - random.float())) * cos(2 * PI * random.float());
}

/** `count` random unit vectors of `dimensions` components: the topic centres of a synthetic stream. */
export function unitCenters(random: SeededRandom, count: number, dimensions: number): Float64Array[] {
  return Array.from({ length: count }, () =>
    normalize(Float64Array.from({ length: dimensions }, () => normal(random))),
  );
}

export interface WindowSpec {
  rows: number;
  centers: readonly Float64Array[];
  /** Share of rows drawn around each centre (sums to 1). */
  proportions: readonly number[];
  /** Norm of the isotropic noise added to a centre before normalising. @defaultValue 0.6 */
  noise?: number;
  /** Added to the first `shift.dimensions` components before normalising. */
  shift?: { dimensions: number; by: number };
}

/**
 * A window of unit-norm embeddings like a sentence encoder's: each row a centre picked by
 * `proportions` plus Gaussian noise, renormalised, as float32. Components are then of the order
 * 1/√d, the scale Evidently's fixed thresholds were set for.
 */
export function syntheticWindow(random: SeededRandom, spec: WindowSpec): Float32Array[] {
  const dimensions = spec.centers[0]!.length;
  const noise = (spec.noise ?? 0.6) / sqrt(dimensions);
  return Array.from({ length: spec.rows }, () => {
    const pick = random.float();
    let cluster = 0;
    for (let sum = spec.proportions[0]!; pick >= sum && cluster < spec.centers.length - 1;)
      sum += spec.proportions[++cluster]!;
    const center = spec.centers[cluster]!;
    const row = Float64Array.from(center, (value) => value + noise * normal(random));
    if (spec.shift) for (let j = 0; j < spec.shift.dimensions; j++) row[j]! += spec.shift.by;
    return Float32Array.from(normalize(row));
  });
}

function normalize(v: Float64Array): Float64Array {
  let norm = 0;
  for (const value of v) norm += value * value;
  norm = sqrt(norm);
  return v.map((value) => value / norm);
}
