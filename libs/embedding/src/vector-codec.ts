/**
 * float32 → IEEE 754 half precision (round to nearest even), for compact cache entries. Values
 * beyond the half range become ±Infinity; unit-vector components are far inside it.
 */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa ? 0x200 : 0);
      continue;
    }
    const e = exponent - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mantissa |= 0x800000;
      const shift = 14 - e;
      let half = mantissa >> shift;
      const rest = mantissa & ((1 << shift) - 1);
      const midpoint = 1 << (shift - 1);
      if (rest > midpoint || (rest === midpoint && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mantissa >> 13);
    const rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
  }
  return out;
}

/** Half precision → float32 (exact). */
export function fromFloat16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) {
    const h = halves[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/** Encodes a vector for the cache in the configured precision. */
export type VectorFormat = 'float32' | 'float16';

export function encodeVector(vector: Float32Array, format: VectorFormat): Buffer {
  const typed = format === 'float16' ? toFloat16(vector) : vector;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** Decodes a cache entry; undefined when its size does not match the model (a stale entry). */
export function decodeVector(
  bytes: Buffer,
  format: 'float32' | 'float16',
  dimensions: number,
): Float32Array | undefined {
  const width = format === 'float16' ? 2 : 4;
  if (bytes.length !== dimensions * width) return undefined;
  const copy = new Uint8Array(bytes).buffer;
  return format === 'float16' ? fromFloat16(new Uint16Array(copy)) : new Float32Array(copy);
}
