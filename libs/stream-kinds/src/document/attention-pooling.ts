// A document is searched by its gist: sentences pooled with softmax attention against the
// document's mean direction, so the sentences that say what most of the document says count more
// than an aside or a boilerplate line, and one sentence cannot drag the vector off alone.
import {
  StreamKindInputError,
  type VectorLike,
  addScaled,
  commonDimension,
  dot,
  norm,
  normalize,
} from '../vectors';

const { exp } = Math;

function checkTemperature(temperature: number): void {
  if (!(temperature > 0) || !Number.isFinite(temperature))
    throw new StreamKindInputError(`temperature must be a finite number > 0, got ${temperature}`);
}

/** Σ e_i in float64, the state both the one-shot and the incremental pool derive the gist from. */
function sentenceSum(sentences: readonly VectorLike[], dimensions: number): Float64Array {
  const sum = new Float64Array(dimensions);
  for (const sentence of sentences) addScaled(sum, sentence, 1);
  return sum;
}

/** softmax_i(e_i · m / τ) with m the direction of `sum`; the max is subtracted so exp never overflows. */
function weightsAgainst(
  sentences: readonly VectorLike[],
  sum: Float64Array,
  temperature: number,
): Float64Array {
  // e · m as e · Σ / ‖Σ‖: the gist stays float64 (a float32 unit gist would cost the weights 7 digits).
  const length = norm(sum);
  if (length === 0 || !Number.isFinite(length))
    throw new StreamKindInputError("the sentences' sum (the gist) is the zero vector or not finite");
  const scale = 1 / (length * temperature);
  const weights = Float64Array.from(sentences, (sentence) => dot(sentence, sum) * scale);
  let max = -Infinity;
  for (const score of weights) if (score > max) max = score;
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i] = exp(weights[i]! - max);
  for (let i = 0; i < weights.length; i++) weights[i]! /= total;
  return weights;
}

function poolWith(sentences: readonly VectorLike[], weights: Float64Array, dimensions: number): Float32Array {
  const pooled = new Float64Array(dimensions);
  sentences.forEach((sentence, i) => addScaled(pooled, sentence, weights[i]!));
  return normalize(pooled, 'the attention-pooled sum');
}

/**
 * Each sentence's attention weight, `softmax_i(e_i · m / τ)` with `m = normalize(Σ_i e_i)`: the
 * share of the document vector it gets. They sum to 1; a lower temperature sharpens them towards the
 * sentences closest to the gist, a higher one flattens them towards the plain mean.
 *
 * @throws StreamKindInputError on no sentences, mixed dimensions, τ ≤ 0, or sentences that cancel out.
 */
export function attentionWeights(sentences: readonly VectorLike[], temperature: number): Float64Array {
  checkTemperature(temperature);
  return weightsAgainst(
    sentences,
    sentenceSum(sentences, commonDimension(sentences, 'sentences')),
    temperature,
  );
}

/**
 * The document vector `normalize(Σ_i softmax_i(e_i · m / τ) · e_i)`, `m = normalize(Σ_i e_i)`.
 * One sentence gives `normalize(e_1)`.
 *
 * @throws StreamKindInputError as `attentionWeights`, or when the weighted sum is zero.
 */
export function attentionPool(sentences: readonly VectorLike[], temperature: number): Float32Array {
  const dimensions = commonDimension(sentences, 'sentences');
  return poolWith(sentences, attentionWeights(sentences, temperature), dimensions);
}

/** A `DocumentPool` as JSON: the running sum as plain numbers (float64, so nothing is lost). */
export interface DocumentPoolState {
  dimensions: number;
  count: number;
  sum: number[];
}

/**
 * A document's running sentence sum, kept as sentences are added and removed so the gist need not
 * be summed again on every edit. The weights still need every sentence vector (each is compared with
 * the gist), so `vector` and `weights` take them, and check that as many were given as were added.
 */
export class DocumentPool {
  private readonly sum: Float64Array;
  private sentences = 0;

  constructor(readonly dimensions: number) {
    if (!Number.isInteger(dimensions) || dimensions < 1)
      throw new StreamKindInputError(`dimensions must be a whole number ≥ 1, got ${dimensions}`);
    this.sum = new Float64Array(dimensions);
  }

  /** How many sentences the running sum holds. */
  get count(): number {
    return this.sentences;
  }

  add(sentence: VectorLike): void {
    this.checkDimension(sentence);
    addScaled(this.sum, sentence, 1);
    this.sentences++;
  }

  /** Takes back a sentence added before; the caller passes the same vector it added. */
  remove(sentence: VectorLike): void {
    this.checkDimension(sentence);
    if (this.sentences === 0)
      throw new StreamKindInputError('cannot remove a sentence from an empty document');
    this.sentences--;
    // An empty document's sum is exactly zero, not the rounding residue of every add and remove.
    if (this.sentences === 0) this.sum.fill(0);
    else addScaled(this.sum, sentence, -1);
  }

  /** `attentionWeights(sentences, τ)` with the gist taken from the running sum. */
  weights(sentences: readonly VectorLike[], temperature: number): Float64Array {
    checkTemperature(temperature);
    this.checkSentences(sentences);
    return weightsAgainst(sentences, this.sum, temperature);
  }

  /** `attentionPool(sentences, τ)` with the gist taken from the running sum. */
  vector(sentences: readonly VectorLike[], temperature: number): Float32Array {
    return poolWith(sentences, this.weights(sentences, temperature), this.dimensions);
  }

  toJSON(): DocumentPoolState {
    return { dimensions: this.dimensions, count: this.sentences, sum: Array.from(this.sum) };
  }

  static fromJSON(state: DocumentPoolState): DocumentPool {
    const pool = new DocumentPool(state.dimensions);
    if (!Number.isInteger(state.count) || state.count < 0)
      throw new StreamKindInputError(
        `a document pool's count must be a whole number ≥ 0, got ${state.count}`,
      );
    if (state.sum.length !== state.dimensions || !state.sum.every(Number.isFinite))
      throw new StreamKindInputError(`a document pool's sum must be ${state.dimensions} finite numbers`);
    pool.sum.set(state.sum);
    pool.sentences = state.count;
    return pool;
  }

  private checkDimension(sentence: VectorLike): void {
    if (sentence.length !== this.dimensions)
      throw new StreamKindInputError(
        `a sentence has ${sentence.length} dimensions, expected ${this.dimensions}`,
      );
  }

  private checkSentences(sentences: readonly VectorLike[]): void {
    if (sentences.length !== this.sentences)
      throw new StreamKindInputError(
        `${sentences.length} sentence vectors given for a document of ${this.sentences} sentences`,
      );
    sentences.forEach((sentence) => this.checkDimension(sentence));
  }
}
