import type { Feed, PoolOutput } from '../engine/session-pool';
import type { PreparedBatch } from '../use-lite/use-lite-runtime';

export interface BertShape {
  /** Hidden size (the embedding dimensions). */
  dimensions: number;
  pooling: 'mean' | 'cls';
  /** Whether the graph takes `token_type_ids` (BERT and MiniLM do). */
  tokenTypeIds: boolean;
}

/**
 * Pads rows into a dense batch (`input_ids`, `attention_mask`, optionally `token_type_ids`, all
 * int64 [batch, longest]) and turns `last_hidden_state` [batch, longest, hidden] into one unit
 * vector per row: the mean over real (unmasked) tokens, or the [CLS] position.
 */
export function prepareBertBatch(rows: readonly (readonly number[])[], shape: BertShape): PreparedBatch {
  const batch = rows.length;
  const longest = Math.max(1, ...rows.map((r) => r.length));
  const ids = new BigInt64Array(batch * longest);
  const mask = new BigInt64Array(batch * longest);
  rows.forEach((row, r) => {
    row.forEach((id, p) => {
      ids[r * longest + p] = BigInt(id);
      mask[r * longest + p] = 1n;
    });
  });
  const feeds: Record<string, Feed> = {
    input_ids: { type: 'int64', data: ids, dims: [batch, longest] },
    attention_mask: { type: 'int64', data: mask, dims: [batch, longest] },
  };
  if (shape.tokenTypeIds)
    feeds['token_type_ids'] = {
      type: 'int64',
      data: new BigInt64Array(batch * longest),
      dims: [batch, longest],
    };
  return {
    feeds,
    decode(output: PoolOutput): Float32Array[] {
      const [b, l, h] = output.dims;
      if (b !== batch || l !== longest || h !== shape.dimensions) {
        throw new Error(
          `model output is [${output.dims.join(', ')}], expected [${batch}, ${longest}, ${shape.dimensions}]`,
        );
      }
      return rows.map((row, r) => {
        const vector = new Float32Array(h);
        const tokens = shape.pooling === 'cls' ? 1 : Math.max(1, row.length);
        for (let p = 0; p < tokens; p++) {
          const offset = (r * l + p) * h;
          for (let k = 0; k < h; k++) vector[k]! += output.data[offset + k]!;
        }
        let norm = 0;
        for (let k = 0; k < h; k++) norm += vector[k]! * vector[k]!;
        const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
        for (let k = 0; k < h; k++) vector[k] = vector[k]! * scale;
        return vector;
      });
    },
  };
}
