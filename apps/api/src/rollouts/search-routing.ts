import { createHash } from 'node:crypto';
import type { RoutedCollection } from '@tributary/db';

/** Which version answers a search, and whether the candidate also runs it (shadow). */
export interface SearchRoute {
  /** The version whose results are returned. */
  answer: { model: string; storeKey: string; dimensions: number };
  route: 'serving' | 'canary';
  /** Shadow mode: the candidate runs the same search, compared and recorded, not returned. */
  shadow?: { rolloutId: string; model: string; storeKey: string; dimensions: number };
}

/**
 * A number in [0, 100) for a route key: the same key (within one rollout) always lands at the
 * same point, so a sticky caller sees one version for the rollout's life, however the share moves
 * (raising the share only adds callers to the candidate).
 */
export function routePoint(rolloutId: string, routeKey: string): number {
  const digest = createHash('sha256').update(rolloutId).update('\u0000').update(routeKey).digest();
  return (digest.readUInt32BE(0) / 0x1_0000_0000) * 100;
}

/**
 * Routes one search of a collection: the serving version, or, for a canary's share of searches, the
 * candidate; random per request unless `routeKey` (`x-tributary-route-key`) makes it sticky. In
 * shadow mode the serving version answers and the candidate runs the search too. A vector query
 * (`vectorLength`) goes to the candidate only when it has the candidate's dimensions: a client
 * that sends the serving version's vectors keeps working during a rollout to another size.
 */
export function routeSearch(
  collection: RoutedCollection,
  routeKey: string | undefined,
  random: () => number = Math.random,
  vectorLength?: number,
): SearchRoute {
  const serving = {
    model: collection.model,
    storeKey: collection.storeKey,
    dimensions: collection.dimensions,
  };
  const candidate = collection.candidate;
  if (!candidate) return { answer: serving, route: 'serving' };
  if (vectorLength !== undefined && vectorLength !== candidate.dimensions)
    return { answer: serving, route: 'serving' };
  const target = { model: candidate.model, storeKey: candidate.storeKey, dimensions: candidate.dimensions };
  if (candidate.state === 'shadow') {
    return { answer: serving, route: 'serving', shadow: { rolloutId: candidate.rolloutId, ...target } };
  }
  if (candidate.state !== 'canary' || candidate.trafficPercent <= 0)
    return { answer: serving, route: 'serving' };
  const point = routeKey === undefined ? random() * 100 : routePoint(candidate.rolloutId, routeKey);
  return point < candidate.trafficPercent
    ? { answer: target, route: 'canary' }
    : { answer: serving, route: 'serving' };
}
