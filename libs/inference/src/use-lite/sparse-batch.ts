/** The sparse batch the use-lite graph takes: (row, position) pairs and the token id at each. */
export interface SparseBatch {
  indices: BigInt64Array;
  values: BigInt64Array;
  /** Number of (row, position) pairs. */
  count: number;
}

/**
 * Packs token lists into use-lite's sparse input. The graph sizes its dense batch from the largest
 * row index present, so a caller must not end a batch with rows that have no tokens.
 */
export function toSparseBatch(tokens: readonly (readonly number[])[]): SparseBatch {
  const count = tokens.reduce((n, t) => n + t.length, 0);
  const indices = new BigInt64Array(count * 2);
  const values = new BigInt64Array(count);
  let k = 0;
  tokens.forEach((row, r) => {
    row.forEach((id, p) => {
      indices[2 * k] = BigInt(r);
      indices[2 * k + 1] = BigInt(p);
      values[k] = BigInt(id);
      k++;
    });
  });
  return { indices, values, count };
}
