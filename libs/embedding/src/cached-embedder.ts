import { Logger } from '@nestjs/common';
import { isBlankText, type ItemFailureReason } from '@tributary/contracts';
import type { EmbeddingEngine, InferencePriority, InputType, TokenizedEach } from '@tributary/inference';
import type { Metrics } from '@tributary/observability';
import type { CacheInput, EmbeddingCache } from './embedding-cache';

/** Texts of background work tokenized between two turns of the event loop. */
const BACKGROUND_TOKENIZE_SLICE = 16;

/** What the cached embedder needs of the engine (an `EmbeddingEngine`, or one looked up per call). */
export type EmbedEngine = Pick<EmbeddingEngine, 'model' | 'tokenizeEach' | 'embedRows'>;

/** Why one input has no vector; the codes are the stream item failure reasons of the same name. */
export type EmbedInputFailure = Extract<ItemFailureReason, 'empty_text' | 'untokenizable'>;

/** One input that cannot be embedded. The batch goes on without it. */
export class EmbedInputError extends Error {
  constructor(
    readonly reason: EmbedInputFailure,
    message: string,
  ) {
    super(message);
    this.name = 'EmbedInputError';
  }
}

export interface EmbedRequest {
  /** Model version, e.g. `use-lite@1`. */
  model: string;
  inputType: InputType;
  /** The texts, each with the tenant whose cache entries it reads and writes. */
  inputs: readonly CacheInput[];
  /** Epoch milliseconds; rows still queued for inference then are dropped (`InferenceDeadlineError`). */
  deadline: number;
  /** Whose fair share of the engine's queue the computed rows count against (the API: the tenant). */
  fairShareKey?: string;
  /** `background` for work that must leave the CPU to live work (a backfill). @defaultValue 'live' */
  priority?: InferencePriority;
  /**
   * Lifetime of the cache entries written for computed vectors; 0 writes none.
   * @defaultValue the cache's own (`EMBEDDING_CACHE_TTL_SECONDS`)
   */
  cacheTtlSeconds?: number;
}

export interface EmbedResult {
  /** One per input, in order; undefined where `errors` holds why. */
  vectors: (Float32Array | undefined)[];
  /** One per input: why it has no vector, or undefined. */
  errors: (EmbedInputError | undefined)[];
  /** How many vectors came from the cache. */
  cached: number;
  /** Indices of inputs cut to the model's token limit. */
  truncated: number[];
  /** Tokens of every input tokenized, cached or not. */
  tokens: number;
}

export interface CachedEmbedderOptions {
  /** Where cache hits and misses are counted (`tributary_embedding_cache_{hits,misses}_total`). */
  metrics?: Pick<Metrics, 'cacheHits' | 'cacheMisses'>;
}

/**
 * The one embed path (TEI's `embed`): for a batch of texts, the cache is read, every text is
 * tokenized in one call (while the cache read is in flight), the misses go to the engine in one
 * call, and what was computed is cached. Used by `/v1/embeddings`, text search and the stream
 * workers alike.
 *
 * Bad input fails alone, as a per-input error: a blank text (nothing left once normalised) or one
 * the tokenizer cannot take. The cache never fails a request: a read that fails is a miss, a write
 * that fails is logged. Engine refusals (`InferenceOverloadedError`, `InferenceDeadlineError`)
 * reject the call, for each caller to map (the API: 429 and 503; a worker: a retry).
 */
export class CachedEmbedder {
  private readonly logger = new Logger('CachedEmbedder');

  constructor(
    private readonly engine: EmbedEngine,
    private readonly cache: EmbeddingCache,
    private readonly options: CachedEmbedderOptions = {},
  ) {}

  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const { model, inputType, inputs } = request;
    const info = this.engine.model(model);
    if (!info) throw new Error(`model ${model} is not served by this engine`);
    const errors: (EmbedInputError | undefined)[] = inputs.map(({ text }) =>
      isBlankText(text)
        ? new EmbedInputError(
            'empty_text',
            'text is empty after normalisation (only spaces or control characters)',
          )
        : undefined,
    );
    const wanted = inputs.flatMap((_, i) => (errors[i] ? [] : [i]));
    // The cache's round trip overlaps tokenization (synchronous, in this thread).
    const lookup = this.read(
      model,
      inputType,
      wanted.map((i) => inputs[i]!),
      info.dimensions,
    );
    const texts = wanted.map((i) => inputs[i]!.text);
    const tokenized =
      request.priority === 'background'
        ? await this.tokenizeInSlices(model, texts, inputType)
        : this.engine.tokenizeEach(model, texts, inputType);
    const found = await lookup;

    const vectors: (Float32Array | undefined)[] = inputs.map(() => undefined);
    const rows: number[][] = [];
    const computedFor: number[] = [];
    let cached = 0;
    wanted.forEach((index, k) => {
      const error = tokenized.errors[k];
      if (error) {
        errors[index] = new EmbedInputError('untokenizable', `cannot tokenize: ${error.message}`);
      } else if (found[k]) {
        vectors[index] = found[k];
        cached++;
      } else {
        rows.push(tokenized.rows[k]!);
        computedFor.push(index);
      }
    });

    if (rows.length > 0) {
      const computed = await this.engine.embedRows(
        model,
        rows,
        request.deadline,
        request.fairShareKey,
        request.priority,
      );
      computedFor.forEach((index, k) => (vectors[index] = computed[k]));
      await this.write(
        model,
        inputType,
        computedFor.map((index, k) => ({ ...inputs[index]!, vector: computed[k]! })),
        request.cacheTtlSeconds,
      );
    }
    return {
      vectors,
      errors,
      cached,
      truncated: tokenized.truncated.map((k) => wanted[k]!),
      tokens: tokenized.tokens,
    };
  }

  /**
   * Background texts are tokenized a slice at a time with the event loop let go in between: a
   * backfill page tokenized in one go (128 texts, ~13 ms) held up the live jobs of the same worker.
   */
  private async tokenizeInSlices(
    model: string,
    texts: readonly string[],
    inputType: InputType,
  ): Promise<TokenizedEach> {
    const all: TokenizedEach = { rows: [], errors: [], truncated: [], tokens: 0 };
    for (let from = 0; from < texts.length; from += BACKGROUND_TOKENIZE_SLICE) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      const slice = this.engine.tokenizeEach(
        model,
        texts.slice(from, from + BACKGROUND_TOKENIZE_SLICE),
        inputType,
      );
      all.rows.push(...slice.rows);
      all.errors.push(...slice.errors);
      all.truncated.push(...slice.truncated.map((k) => from + k));
      all.tokens += slice.tokens;
    }
    return all;
  }

  /** Cached vectors, position for position; a failed read is all misses. Counts hits and misses. */
  private async read(
    model: string,
    inputType: InputType,
    inputs: readonly CacheInput[],
    dimensions: number,
  ): Promise<(Float32Array | undefined)[]> {
    if (!this.cache.enabled || inputs.length === 0) return inputs.map(() => undefined);
    let vectors: (Float32Array | undefined)[];
    try {
      vectors = await this.cache.getMany(model, inputType, inputs, dimensions);
    } catch (err) {
      this.logger.warn(`cache read failed, computing instead: ${(err as Error).message}`);
      vectors = inputs.map(() => undefined);
    }
    const hits = vectors.filter(Boolean).length;
    this.options.metrics?.cacheHits.inc({ model }, hits);
    this.options.metrics?.cacheMisses.inc({ model }, vectors.length - hits);
    return vectors;
  }

  private async write(
    model: string,
    inputType: InputType,
    entries: readonly (CacheInput & { vector: Float32Array })[],
    ttlSeconds: number | undefined,
  ): Promise<void> {
    try {
      await this.cache.setMany(model, inputType, entries, ttlSeconds);
    } catch (err) {
      this.logger.warn(`cache write failed: ${(err as Error).message}`);
    }
  }
}
