import { randomVectors } from '../testing/vectors';
import { int8CosineRanker } from './int8-ranker';

const toInt8 = (rows: Float32Array[]) =>
  Int8Array.from(rows.flatMap((r) => Array.from(r, (x) => Math.round(x * 40))));

describe('int8CosineRanker', () => {
  it('returns the rows of highest cosine to the query, best first, as a scan of every row ranks them', () => {
    const dims = 64;
    const rows = randomVectors(300, dims, 5);
    const matrix = toInt8(rows);
    // Rows past `used` are capacity, never ranked: fill them with the query itself.
    const query = toInt8(randomVectors(1, dims, 6));
    const padded = new Int8Array(matrix.length + 10 * dims);
    padded.set(matrix);
    for (let r = 0; r < 10; r++) padded.set(query, matrix.length + r * dims);
    const cos = (r: number) => {
      let dot = 0;
      let nr = 0;
      let nq = 0;
      for (let d = 0; d < dims; d++) {
        dot += matrix[r * dims + d]! * query[d]!;
        nr += matrix[r * dims + d]! ** 2;
        nq += query[d]! ** 2;
      }
      return dot / Math.sqrt(nr * nq);
    };
    const expected = Array.from({ length: 300 }, (_, r) => r)
      .sort((a, b) => cos(b) - cos(a))
      .slice(0, 16);
    const ranked = Array.from(int8CosineRanker(padded, 300, query, dims, 16), Number);
    expect(ranked).toEqual(expected);
  });

  it('returns at most the rows in use, and none for none', () => {
    const rows = toInt8(randomVectors(5, 8, 1));
    expect(int8CosineRanker(rows, 5, rows.subarray(0, 8), 8, 16)).toHaveLength(5);
    expect(Number(int8CosineRanker(rows, 5, rows.subarray(0, 8), 8, 16)[0])).toBe(0);
    expect(int8CosineRanker(rows, 0, rows.subarray(0, 8), 8, 16)).toHaveLength(0);
  });
});
