/** A float32 vector as the bytes stored in `item.vector` (a view of the same memory, no copy). */
export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** A stored `item.vector` as float32, copied (a slice of the driver's buffer need not be 4-byte aligned). */
export function vectorFrom(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes).buffer;
  return new Float32Array(copy);
}
