import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  DomainError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
  type CreateEmbeddings,
  type EmbeddingsResponse,
} from '@tributary/contracts';
import { CachedEmbedder, type EmbedResult } from '@tributary/embedding';
import { InferenceDeadlineError, InferenceOverloadedError, type InputType } from '@tributary/inference';
import type { TenantPrincipal } from '../auth/authenticated-request';
import { EngineService } from './engine.service';

export interface EmbeddingsResult {
  body: EmbeddingsResponse;
  /** `hit` when every input came from the cache, `partial` when some did, `miss` otherwise. */
  cache: 'hit' | 'partial' | 'miss';
  /** Indices of inputs cut to the model's token limit. */
  truncated: number[];
}

export interface Embedded {
  /** One vector per input, in order. */
  vectors: Float32Array[];
  /** How many came from the cache. */
  cached: number;
  truncated: number[];
  tokens: number;
}

function toBase64(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64');
}

@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly engines: EngineService,
    private readonly embedder: CachedEmbedder,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  /**
   * Embeds the inputs with the requested (or the tenant's default) model. Cached inputs are
   * always answered, even when the inference queue is full; only the rest can be refused (429)
   * or time out (503), so a request never waits without bound.
   */
  async create(principal: TenantPrincipal, request: CreateEmbeddings): Promise<EmbeddingsResult> {
    const modelId = request.model ?? principal.tenant.defaultModel;
    const model = this.engines.servedModel(modelId);
    if (request.dimensions !== undefined && request.dimensions !== model.dimensions) {
      throw new ValidationError(
        `Model ${modelId} produces ${model.dimensions} dimensions and cannot honour dimensions=${request.dimensions}`,
        [{ path: 'dimensions', message: `must be ${model.dimensions} for ${modelId}` }],
      );
    }
    const inputs = typeof request.input === 'string' ? [request.input] : request.input;
    if (inputs.length > this.config.EMBEDDINGS_MAX_INPUTS) {
      throw new DomainError(
        'payload_too_large',
        `At most ${this.config.EMBEDDINGS_MAX_INPUTS} inputs per request (EMBEDDINGS_MAX_INPUTS); got ${inputs.length}: split them over several requests`,
      );
    }
    const long = inputs.findIndex((t) => t.length > this.config.EMBEDDINGS_MAX_INPUT_CHARS);
    if (long >= 0) {
      throw new DomainError(
        'payload_too_large',
        `input[${long}] has ${inputs[long]!.length} characters; at most ${this.config.EMBEDDINGS_MAX_INPUT_CHARS} are accepted (EMBEDDINGS_MAX_INPUT_CHARS): shorten or split it`,
      );
    }

    const { vectors, cached, truncated, tokens } = await this.embed(
      principal.tenant.id,
      modelId,
      request.input_type,
      inputs,
    );
    const body: EmbeddingsResponse = {
      object: 'list',
      data: vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: request.encoding_format === 'base64' ? toBase64(vector) : Array.from(vector),
      })),
      model: modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    const cache = cached === inputs.length ? 'hit' : cached === 0 ? 'miss' : 'partial';
    return { body, cache, truncated };
  }

  /**
   * The API's one embed path (this endpoint and text search): one {@link CachedEmbedder} call for
   * the tenant (its cache entries, its fair share of the inference queue). Cached inputs are always
   * answered; the rest can be refused (429) or time out (503).
   */
  async embed(
    tenantId: string,
    modelId: string,
    inputType: InputType,
    inputs: readonly string[],
  ): Promise<Embedded> {
    this.engines.servedModel(modelId);
    let result: EmbedResult;
    try {
      result = await this.embedder.embed({
        model: modelId,
        inputType,
        inputs: inputs.map((text) => ({ tenantId, text })),
        deadline: Date.now() + this.config.EMBEDDINGS_TIMEOUT_MS,
        // The queue is shared fairly between tenants.
        fairShareKey: tenantId,
      });
    } catch (err) {
      if (err instanceof InferenceOverloadedError) {
        throw new RateLimitedError(
          'The embedding queue is full; cached inputs are still served. Retry shortly.',
          err.retryAfterSeconds,
        );
      }
      if (err instanceof InferenceDeadlineError)
        throw new UnavailableError('Inference did not finish in time; retry shortly.', 1);
      throw err;
    }
    // Validation refuses blank text before this, and no text it accepts fails to tokenize: an error
    // here is a bug, answered as one (500, logged).
    const failed = result.errors.find((error) => error !== undefined);
    if (failed) throw failed;
    return {
      vectors: result.vectors as Float32Array[],
      cached: result.cached,
      truncated: result.truncated,
      tokens: result.tokens,
    };
  }
}
