import { cosine, randomVectors } from '../testing/vectors';
import { BestHits } from '../near-duplicates';
import { FlatCopy, scanRows } from './flat-copy';

/** Brute force over what the copy should hold. */
function nearest(content: Map<string, Float32Array>, query: Float32Array, k: number): string[] {
  return [...content]
    .map(([id, vector]) => ({ id, score: cosine(vector, query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)
    .map((s) => s.id);
}

describe('FlatCopy', () => {
  const dimensions = 24;

  it('ranks like brute force and scores by cosine, for vectors of any length', () => {
    const flat = new FlatCopy(dimensions, 1000);
    const content = new Map<string, Float32Array>();
    randomVectors(300, dimensions, 1).forEach((v, i) => {
      const scaled = v.map((x) => x * (1 + (i % 7)));
      content.set(`p${i}`, scaled);
      flat.set(`p${i}`, scaled);
    });
    for (const query of randomVectors(20, dimensions, 2)) {
      const found = flat.search(
        query.map((x) => x * 3),
        10,
      );
      expect(found.ids).toEqual(nearest(content, query, 10));
      found.ids.forEach((id, i) => {
        expect(found.scores[i]).toBeCloseTo(cosine(content.get(id) as Float32Array, query), 5);
      });
    }
  });

  it('stays in step with its content through removes (swap-remove), overwrites and growth', () => {
    const flat = new FlatCopy(dimensions, 2000);
    const content = new Map<string, Float32Array>();
    const vectors = randomVectors(1500, dimensions, 3);
    vectors.forEach((v, i) => {
      content.set(`p${i}`, v);
      flat.set(`p${i}`, v);
    });
    for (let i = 0; i < 1500; i += 3) {
      content.delete(`p${i}`);
      flat.remove(`p${i}`);
    }
    flat.remove('never-there');
    // Overwrite every fifth survivor with the vector of another point.
    for (let i = 1; i < 1500; i += 5) {
      if (!content.has(`p${i}`)) continue;
      const other = vectors[(i * 7) % 1500] as Float32Array;
      content.set(`p${i}`, other);
      flat.set(`p${i}`, other);
    }
    expect(flat.size).toBe(content.size);
    expect([...flat.rowIds()].sort()).toEqual([...content.keys()].sort());
    // Each point is found first by its own vector (or ties with the point it was overwritten with).
    for (const [id, vector] of content) {
      const [first] = flat.search(vector, 1).ids;
      expect(cosine(content.get(first as string) as Float32Array, vector)).toBeCloseTo(1, 5);
      if (first !== id) expect(content.get(first as string)).toEqual(vector);
    }
    // A copy rebuilt from its saved rows answers the same.
    const bytes = flat.bytes();
    const loaded = new FlatCopy(dimensions, 2000, {
      ids: [...flat.rowIds()],
      vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    });
    for (const query of randomVectors(10, dimensions, 4)) {
      expect(loaded.search(query, 25)).toEqual(flat.search(query, 25));
      // Overwritten points share vectors, so ties may come in either order: compare scores.
      const truth = nearest(content, query, 25).map((id) => cosine(content.get(id) as Float32Array, query));
      loaded.search(query, 25).scores.forEach((score, i) => expect(score).toBeCloseTo(truth[i] as number, 5));
    }
  });

  it('refuses a row beyond its bound', () => {
    const flat = new FlatCopy(dimensions, 2);
    const [a, b, c] = randomVectors(3, dimensions, 5) as [Float32Array, Float32Array, Float32Array];
    flat.set('a', a);
    flat.set('b', b);
    flat.set('a', c);
    expect(() => flat.set('c', c)).toThrow(RangeError);
    expect(flat.search(c, 5).ids).toEqual(['a', 'b']);
  });
});

describe('scanRows', () => {
  const rows = new FlatCopy(2);
  // Angles 0°, 1°, 2°, ... 99° from the x axis.
  for (let i = 0; i < 100; i++)
    rows.set(`r${i}`, Float32Array.of(Math.cos((i * Math.PI) / 180), Math.sin((i * Math.PI) / 180)));
  const query = Float32Array.of(1, 0);

  it('stops once the rest cannot get in', () => {
    const best = new BestHits(3);
    const offered: string[] = [];
    scanRows(rows, query, 3, best, (id, score) => {
      offered.push(id);
      best.offer(id, score, {});
    });
    expect(offered).toEqual(['r0', 'r1', 'r2']);
    expect(best.hits().map((hit) => hit.id)).toEqual(['r0', 'r1', 'r2']);
  });

  it('fetches more when offers are refused (a filter), until k are in', () => {
    const best = new BestHits(3);
    const offered: string[] = [];
    scanRows(rows, query, 3, best, (id, score) => {
      offered.push(id);
      if (Number(id.slice(1)) % 10 === 9) best.offer(id, score, {});
    });
    expect(best.hits().map((hit) => hit.id)).toEqual(['r9', 'r19', 'r29']);
    // Each row offered once, in order, and none after the 3rd match's round showed the rest cannot rank.
    expect(offered).toEqual(offered.slice().sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
    expect(new Set(offered).size).toBe(offered.length);
    expect(offered.length).toBeLessThanOrEqual(48);
  });

  it('does not offer rows that cannot beat hits already held', () => {
    const best = new BestHits(2);
    best.offer('held', 0.99999, {});
    best.offer('held2', 0.99995, {});
    const offered: string[] = [];
    scanRows(rows, query, 2, best, (id) => void offered.push(id));
    expect(offered).toEqual(['r0']);
  });
});
