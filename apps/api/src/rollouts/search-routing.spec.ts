import type { RoutedCollection } from '@tributary/db';
import { routePoint, routeSearch } from './search-routing';

const collection = (candidate?: Partial<NonNullable<RoutedCollection['candidate']>>): RoutedCollection => ({
  id: 'c1',
  tenantId: 't1',
  name: 'docs',
  model: 'use-lite@1',
  dimensions: 512,
  storeKey: 'serving-key',
  createdAt: new Date(0),
  driftBaselineFrom: null,
  driftBaselineTo: null,
  driftVerdictMethod: 'model',
  candidate: candidate && {
    rolloutId: 'r1',
    state: 'canary',
    mode: 'canary',
    trafficPercent: 30,
    model: 'use-lite-int8@1',
    storeKey: 'candidate-key',
    dimensions: 512,
    ...candidate,
  },
});

/** A seeded uniform generator (mulberry32), so the share check is exact and repeatable. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('search routing', () => {
  it('answers from the serving version when no candidate is complete, or the canary share is 0', () => {
    expect(routeSearch(collection(), undefined)).toEqual({
      answer: { model: 'use-lite@1', storeKey: 'serving-key', dimensions: 512 },
      route: 'serving',
    });
    expect(routeSearch(collection({ state: 'ready', trafficPercent: 0 }), 'k').route).toBe('serving');
  });

  it('sends the canary share of random searches to the candidate', () => {
    const random = seeded(42);
    const routed = Array.from({ length: 10_000 }, () => routeSearch(collection({}), undefined, random));
    const share = routed.filter((r) => r.route === 'canary').length / routed.length;
    expect(share).toBeGreaterThan(0.28);
    expect(share).toBeLessThan(0.32);
    for (const r of routed)
      expect(r.answer.storeKey).toBe(r.route === 'canary' ? 'candidate-key' : 'serving-key');
    // 100 % sends every search.
    expect(routeSearch(collection({ trafficPercent: 100 }), undefined, () => 0.9999).route).toBe('canary');
  });

  it('routes one key to one version for the rollout’s life, and raising the share only adds keys', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `user-${i}`);
    const at = (pct: number) =>
      new Set(keys.filter((k) => routeSearch(collection({ trafficPercent: pct }), k).route === 'canary'));
    const ten = at(10);
    const thirty = at(30);
    for (const k of ten) expect(thirty.has(k)).toBe(true);
    expect(thirty.size / keys.length).toBeGreaterThan(0.26);
    expect(thirty.size / keys.length).toBeLessThan(0.34);
    // The same key, asked again, the same answer; another rollout shuffles keys anew.
    expect(routePoint('r1', 'user-7')).toBe(routePoint('r1', 'user-7'));
    expect(routePoint('r2', 'user-7')).not.toBe(routePoint('r1', 'user-7'));
  });

  it('keeps a vector query of other dimensions than the candidate’s on the serving version', () => {
    const other = collection({ trafficPercent: 100, dimensions: 384 });
    expect(routeSearch(other, undefined, () => 0, 512).route).toBe('serving');
    expect(routeSearch(other, undefined, () => 0, 384).route).toBe('canary');
    expect(
      routeSearch(collection({ state: 'shadow', mode: 'shadow', dimensions: 384 }), 'k', Math.random, 512)
        .shadow,
    ).toBeUndefined();
  });

  it('in shadow mode answers from the serving version and names the candidate to run as well', () => {
    const route = routeSearch(collection({ state: 'shadow', mode: 'shadow', trafficPercent: 50 }), 'k');
    expect(route.route).toBe('serving');
    expect(route.answer.storeKey).toBe('serving-key');
    expect(route.shadow).toEqual({
      rolloutId: 'r1',
      model: 'use-lite-int8@1',
      storeKey: 'candidate-key',
      dimensions: 512,
    });
  });
});
