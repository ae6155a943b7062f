/** A float32 vector as the bytes stored in `item.vector` (a view of the same memory, no copy). */
export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A stored `item.vector` as float32, copied (a slice of the driver's buffer need not be 4-byte aligned). */
export function vectorFrom(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes).buffer;
  return new Float32Array(copy);
}

/**
 * Vectors of one length packed into one buffer, with that length in bytes: sent as one binary
 * parameter and cut apart in SQL (`substring($n::bytea FROM (i - 1) * width + 1 FOR width)`), since
 * an array of bytea would travel as hex text (twice the bytes, encoded here and decoded there).
 */
export function packedVectors(
  vectors: readonly Float32Array[],
  caller: string,
): { bytes: Buffer; width: number } {
  const width = vectors[0]?.byteLength ?? 0;
  if (vectors.some((v) => v.byteLength !== width))
    throw new Error(`${caller} takes vectors of one length per call`);
  const bytes = Buffer.allocUnsafe(width * vectors.length);
  vectors.forEach((vector, i) => vectorBytes(vector).copy(bytes, i * width));
  return { bytes, width };
}
