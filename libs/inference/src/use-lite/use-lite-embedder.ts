import * as ort from 'onnxruntime-node';
import type { UnigramTokenizer } from '../tokenizers/unigram-tokenizer';
import { toSparseBatch } from './sparse-batch';

export const USE_LITE_DIMENSIONS = 512;

export interface EmbedderOptions {
  /** ONNX Runtime intra-op threads for this session. @defaultValue 1 */
  intraOpThreads?: number;
}

/**
 * One ONNX Runtime session of use-lite with its tokenizer: texts in, unit vectors out. The
 * engine's worker threads each own one; this class is the single-threaded core they share.
 */
export class UseLiteEmbedder {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly tokenizer: UnigramTokenizer,
  ) {}

  static async create(
    model: Uint8Array | string,
    tokenizer: UnigramTokenizer,
    options: EmbedderOptions = {},
  ) {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
    return new UseLiteEmbedder(session, tokenizer);
  }

  /** Embeds pre-tokenised rows. Rows without tokens get the model's vector for empty input. */
  async embedTokens(rows: readonly (readonly number[])[]): Promise<Float32Array[]> {
    if (rows.length === 0) return [];
    // The graph sizes the batch from the last row that has a token: move empty rows to the front
    // so none is cut off, and put the results back in order.
    const order = rows
      .map((_, i) => i)
      .sort((a, b) => Number(rows[a]!.length > 0) - Number(rows[b]!.length > 0));
    const sorted = order.map((i) => rows[i]!);
    const padded = sorted[sorted.length - 1]!.length === 0 ? [...sorted, [0]] : sorted;
    const batch = toSparseBatch(padded);
    const output = await this.session.run({
      indices: new ort.Tensor('int64', batch.indices, [batch.count, 2]),
      values: new ort.Tensor('int64', batch.values, [batch.count]),
    });
    const data = output['embeddings']!.data as Float32Array;
    const result = new Array<Float32Array>(rows.length);
    order.forEach((original, position) => {
      result[original] = data.slice(position * USE_LITE_DIMENSIONS, (position + 1) * USE_LITE_DIMENSIONS);
    });
    return result;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedTokens(texts.map((t) => this.tokenizer.encode(t)));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
