import type { Feed, PoolOutput } from '../engine/session-pool';
import type { UnigramTokenizer } from '../tokenizers/unigram-tokenizer';
import { toSparseBatch } from './sparse-batch';

/** Feeds for one batch, and how to read that batch's output back into per-row vectors. */
export interface PreparedBatch {
  feeds: Record<string, Feed>;
  decode(output: PoolOutput): Float32Array[];
}

/**
 * How use-lite's sparse graph is fed: rows without tokens go first (the graph sizes its dense
 * batch from the last row holding a token, so a trailing empty row would be cut off), and when
 * every row is empty a one-token row is appended and ignored.
 */
export function prepareUseLiteBatch(rows: readonly (readonly number[])[], dimensions: number): PreparedBatch {
  const order = rows
    .map((_, i) => i)
    .sort((a, b) => Number(rows[a]!.length > 0) - Number(rows[b]!.length > 0));
  const sorted = order.map((i) => rows[i]!);
  const padded = sorted.length > 0 && sorted[sorted.length - 1]!.length === 0 ? [...sorted, [0]] : sorted;
  const batch = toSparseBatch(padded);
  return {
    feeds: {
      indices: { type: 'int64', data: batch.indices, dims: [batch.count, 2] },
      values: { type: 'int64', data: batch.values, dims: [batch.count] },
    },
    decode(output) {
      const result = new Array<Float32Array>(rows.length);
      order.forEach((original, position) => {
        result[original] = output.data.slice(position * dimensions, (position + 1) * dimensions);
      });
      return result;
    },
  };
}

/** Tokenizes with use-lite's tokenizer, keeping at most `maxTokens` ids (the graph's own limit). */
export function tokenizeUseLite(
  tokenizer: UnigramTokenizer,
  text: string,
  maxTokens: number,
): { ids: number[]; truncated: boolean } {
  const ids = tokenizer.encode(text);
  return ids.length > maxTokens
    ? { ids: ids.slice(0, maxTokens), truncated: true }
    : { ids, truncated: false };
}
