import * as ort from 'onnxruntime-node';
import type { UnigramTokenizer } from '../tokenizers/unigram-tokenizer';
import { prepareUseLiteBatch } from './use-lite-runtime';

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
    const batch = prepareUseLiteBatch(rows, USE_LITE_DIMENSIONS);
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(batch.feeds))
      feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
    const output = (await this.session.run(feeds))['embeddings']!;
    return batch.decode({ data: output.data as Float32Array, dims: [...output.dims], inferSeconds: 0 });
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return this.embedTokens(texts.map((t) => this.tokenizer.encode(t)));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
