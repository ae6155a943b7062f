import { quantizeColumns } from './tfjs-to-onnx';

describe('quantizeColumns (symmetric int8, one scale per output column)', () => {
  it('scales each column by its own largest magnitude and rounds to the nearest step', () => {
    // 2 × 3 matrix, row-major: column maxima 1, 0.5 and 0.
    const w = Float32Array.from([1, -0.25, 0, -0.5, 0.5, 0]);
    const { q, scales } = quantizeColumns(w, 2, 3);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), Math.fround(0.5 / 127), 1]);
    expect(Array.from(q)).toEqual([127, -64, 0, -64, 127, 0]);
  });

  it('reconstructs weights within half a step', () => {
    const w = Float32Array.from({ length: 64 * 16 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 16)));
    const { q, scales } = quantizeColumns(w, 64, 16);
    for (let i = 0; i < w.length; i++) {
      const col = i % 16;
      expect(Math.abs(q[i]! * scales[col]! - w[i]!)).toBeLessThanOrEqual(scales[col]! / 2 + 1e-7);
    }
  });
});
