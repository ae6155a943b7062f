import { decodeVector, encodeVector, fromFloat16, toFloat16 } from './vector-codec';

describe('float16 codec', () => {
  it('encodes known half-precision bit patterns', () => {
    const halves = toFloat16(new Float32Array([0, -0, 1, -2, 0.5, 65504, 1e6, 2 ** -24, 0.333251953125]));
    expect(Array.from(halves)).toEqual([
      0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x0001, 0x3555,
    ]);
  });

  it('rounds to nearest even', () => {
    // 1 + 2^-11 lies exactly between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(toFloat16(new Float32Array([1 + 2 ** -11]))[0]).toBe(0x3c00);
    // 1 + 3·2^-11 lies between 1 + 2^-10 and 1 + 2^-9: ties go to 1 + 2^-9 (even).
    expect(toFloat16(new Float32Array([1 + 3 * 2 ** -11]))[0]).toBe(0x3c02);
  });

  it('round-trips unit-vector components within half precision', () => {
    const values = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i) / 22.6);
    const back = fromFloat16(toFloat16(values));
    for (let i = 0; i < values.length; i++)
      expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11 + 2 ** -25);
  });

  it('stores float32 exactly and refuses entries of the wrong size', () => {
    const v = Float32Array.from([0.1, -0.2, 0.3]);
    expect(Array.from(decodeVector(encodeVector(v, 'float32'), 'float32', 3)!)).toEqual(Array.from(v));
    expect(encodeVector(v, 'float16')).toHaveLength(6);
    expect(decodeVector(encodeVector(v, 'float16'), 'float16', 4)).toBeUndefined();
  });
});
