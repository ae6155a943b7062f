// Math's functions as module constants: inside a vm context (jest's) each `Math.` in a hot loop is a
// slow global lookup.
const { sqrt } = Math;
const isFiniteNumber = Number.isFinite;

/** Input a stream kind's numerics cannot be computed on; the message names the argument. */
export class StreamKindInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamKindInputError';
  }
}

/** Any vector the kinds read; results are always Float32Array (what the stores hold). */
export type VectorLike = Float32Array | Float64Array | readonly number[];

/** The one dimension of every vector in `vectors`, or an error naming the first that differs. */
export function commonDimension(vectors: readonly VectorLike[], name: string): number {
  const first = vectors[0];
  if (first === undefined) throw new StreamKindInputError(`${name} is empty`);
  for (let i = 1; i < vectors.length; i++) {
    if (vectors[i]!.length !== first.length)
      throw new StreamKindInputError(
        `${name}[${i}] has ${vectors[i]!.length} dimensions, expected ${first.length}`,
      );
  }
  return first.length;
}

export function dot(a: VectorLike, b: VectorLike): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += a[i]! * b[i]!;
  return total;
}

export function norm(v: VectorLike): number {
  return sqrt(dot(v, v));
}

/** `sum += weight · v`, in float64 so that sums of many float32 vectors keep their precision. */
export function addScaled(sum: Float64Array, v: VectorLike, weight: number): void {
  for (let i = 0; i < sum.length; i++) sum[i]! += weight * v[i]!;
}

/**
 * `v / ‖v‖` as float32. A zero or non-finite norm has no direction, and a zero vector in a cosine
 * index matches nothing (or everything, depending on the store), so it is refused rather than stored.
 */
export function normalize(v: VectorLike, what: string): Float32Array {
  const length = norm(v);
  if (length === 0) throw new StreamKindInputError(`${what} is the zero vector and has no direction`);
  if (!isFiniteNumber(length)) throw new StreamKindInputError(`${what} has a non-finite component`);
  const unit = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) unit[i] = v[i]! / length;
  return unit;
}
