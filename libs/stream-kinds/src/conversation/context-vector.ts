// A conversation message is searched by what was being said around it, not by its own few words:
// its context vector is the decayed direction of the last `window` messages up to and including it.
import { StreamKindInputError, addScaled, commonDimension, normalize } from '../vectors';

/** The number of messages a context covers when the stream does not say. @defaultValue 5 */
export const DEFAULT_CONTEXT_WINDOW = 5;

function checkDecay(decay: number): void {
  if (!(decay > 0 && decay <= 1)) throw new StreamKindInputError(`decay must be in (0, 1], got ${decay}`);
}

function checkWindow(window: number): void {
  if (!Number.isInteger(window) || window < 1)
    throw new StreamKindInputError(`window must be a whole number ≥ 1, got ${window}`);
}

/**
 * The context vector of the last message of `window` (oldest first, newest last):
 * `normalize(Σ_j decay^j · e_{n−j})`, j = 0 the newest. With decay 1 every message counts alike (the
 * mean direction); below 1 the newest dominates. The caller passes at most the stream's window.
 *
 * @throws StreamKindInputError on an empty window, vectors of different dimensions, decay outside
 *   (0, 1], or messages that cancel out (a zero sum has no direction to search by).
 */
export function contextVector(window: readonly Float32Array[], decay: number): Float32Array {
  checkDecay(decay);
  const sum = new Float64Array(commonDimension(window, 'window'));
  let weight = 1;
  for (let j = 0; j < window.length; j++) {
    addScaled(sum, window[window.length - 1 - j]!, weight);
    weight *= decay;
  }
  return normalize(sum, 'the context sum');
}

/**
 * Context vectors of positions `from..to` (inclusive; `to` defaults to the last) of a conversation's messages in order, each
 * over the last `window` messages up to and including itself (fewer at the start).
 *
 * Each position is summed afresh from its ≤ `window` messages rather than by a sliding sum: the
 * result is then bit for bit what `contextVector` gives and does not depend on `from`, so recomputing
 * only the positions an edit affected (`affectedPositions`) stores exactly what a full recompute
 * would. The cost, O((to − from + 1) · window · d), is small at conversation windows.
 */
export function contextVectors(
  messages: readonly Float32Array[],
  window: number,
  decay: number,
  from = 0,
  to = messages.length - 1,
): Float32Array[] {
  checkWindow(window);
  checkDecay(decay);
  if (messages.length > 0) commonDimension(messages, 'messages');
  // An empty range (to = from − 1) is allowed: it is what `affectedPositions` gives for a deleted last message.
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= messages.length || to < from - 1)
    throw new StreamKindInputError(
      `positions ${from}..${to} are outside the conversation's ${messages.length} messages`,
    );
  const vectors: Float32Array[] = [];
  for (let n = from; n <= to; n++)
    vectors.push(contextVector(messages.slice(Math.max(0, n - window + 1), n + 1), decay));
  return vectors;
}

/** What happened to the message at a position: every kind changes the contexts that cover it. */
export type ConversationChange = 'insert' | 'update' | 'delete';

/**
 * The positions (inclusive; empty when `to < from`) whose context vectors change when the message
 * at `position` is inserted, updated or deleted, in a conversation of `length` messages counted
 * after the change.
 *
 * A context covers its own message and the `window − 1` before it, so a message at `position` is in
 * the contexts of `position .. position + window − 1`. Insert and update: those positions, clipped
 * to the conversation's end. Delete: the message that was at `position` is gone and the later ones
 * moved up one, so the contexts that held it are now at `position .. position + window − 2` (one
 * fewer: the message that moved into the window's far end was already in it). Positions past the
 * range have the same messages in their window as before, only renumbered: their vectors stand.
 */
export function affectedPositions(
  position: number,
  window: number,
  length: number,
  change: ConversationChange = 'insert',
): { from: number; to: number } {
  checkWindow(window);
  if (!Number.isInteger(length) || length < 0)
    throw new StreamKindInputError(`length must be a whole number ≥ 0, got ${length}`);
  const last = change === 'delete' ? length : length - 1;
  if (!Number.isInteger(position) || position < 0 || position > last)
    throw new StreamKindInputError(
      `cannot ${change} at position ${position} of a conversation that has ${length} messages after it`,
    );
  const reach = change === 'delete' ? window - 2 : window - 1;
  return { from: position, to: Math.min(position + reach, length - 1) };
}
