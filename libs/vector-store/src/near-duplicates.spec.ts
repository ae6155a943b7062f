import { angleOf, BestHits, capBound, unitVector } from './near-duplicates';

describe('capBound', () => {
  it('is the cosine of the angle to the point less the radius (golden values)', () => {
    // 60° from the point, radius 20°: nothing in the cap is closer than 40°.
    expect(capBound(0.5, (20 * Math.PI) / 180)).toBeCloseTo(Math.cos((40 * Math.PI) / 180), 4);
    expect(capBound(0.5, (20 * Math.PI) / 180)).toBeGreaterThanOrEqual(0.766044443);
    // Radius 0: the point's own score (plus the rounding slack).
    expect(capBound(0.3, 0)).toBeCloseTo(0.3, 4);
    // The query inside the cap: a member may coincide with it.
    expect(capBound(0.95, angleOf(0.9))).toBe(1);
    // Opposite the point, radius 90°: at best orthogonal.
    expect(capBound(-1, Math.PI / 2)).toBeCloseTo(0, 4);
  });

  it('is never below the true best score of vectors within the radius', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const vector = (n: number) => unitVector(Float32Array.from({ length: n }, random));
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
    for (let trial = 0; trial < 200; trial++) {
      const rep = vector(8);
      const query = vector(8);
      const member = unitVector(
        rep.map((x, i) => x + 0.3 * random() + (trial % 3 === 0 ? (query[i] as number) : 0)),
      );
      const radius = angleOf(dot(rep, member));
      expect(capBound(dot(rep, query), radius)).toBeGreaterThanOrEqual(dot(member, query));
    }
  });
});

describe('BestHits', () => {
  it('keeps the best k, best first, the first offered ahead among equal scores', () => {
    const best = new BestHits(3);
    expect(best.floor).toBe(Number.NEGATIVE_INFINITY);
    for (const [id, score] of [
      ['a', 0.2],
      ['b', 0.9],
      ['c', 0.5],
      ['d', 0.5],
      ['e', 0.1],
      ['f', 0.95],
    ] as const) {
      best.offer(id, score, { id });
    }
    expect(best.full).toBe(true);
    expect(best.floor).toBe(0.5);
    expect(best.hits()).toEqual([
      { id: 'f', score: 0.95, payload: { id: 'f' } },
      { id: 'b', score: 0.9, payload: { id: 'b' } },
      { id: 'c', score: 0.5, payload: { id: 'c' } },
    ]);
  });
});
