import { deriveSeed, SeededRandom, seededSample } from './seeded-random';

describe('seededSample', () => {
  const rows = Array.from({ length: 1000 }, (_, i) => i);

  it('draws n distinct rows, kept in their original order', () => {
    const sample = seededSample(rows, 100, 7);
    expect(sample).toHaveLength(100);
    expect(new Set(sample).size).toBe(100);
    expect(sample).toEqual([...sample].sort((a, b) => a - b));
  });

  it('is reproducible for a seed and differs between seeds', () => {
    expect(seededSample(rows, 50, 42)).toEqual(seededSample(rows, 50, 42));
    expect(seededSample(rows, 50, 42)).not.toEqual(seededSample(rows, 50, 43));
  });

  it('keeps every row (a copy) when the window is no larger than n', () => {
    const sample = seededSample(rows, 1000, 1);
    expect(sample).toEqual(rows);
    expect(sample).not.toBe(rows);
    expect(seededSample(rows, 5000, 1)).toEqual(rows);
  });

  it('draws every row about equally often', () => {
    const counts = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 2000; seed++)
      for (const i of seededSample(rows.slice(0, 10), 3, seed)) counts[i]!++;
    // 600 expected each; the binomial standard deviation is about 20.
    for (const count of counts) expect(Math.abs(count - 600)).toBeLessThan(100);
  });

  it('refuses a negative or fractional size', () => {
    expect(() => seededSample(rows, -1, 0)).toThrow();
    expect(() => seededSample(rows, 2.5, 0)).toThrow();
  });
});

describe('SeededRandom', () => {
  it('gives floats in [0, 1) and integers in [0, n) that look uniform', () => {
    const random = new SeededRandom(3);
    const floats = Array.from({ length: 10000 }, () => random.float());
    const buckets = new Array<number>(4).fill(0);
    for (let i = 0; i < 10000; i++) buckets[random.int(4)]!++;
    expect(Math.min(...floats)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...floats)).toBeLessThan(1);
    expect(floats.reduce((a, b) => a + b) / 10000).toBeCloseTo(0.5, 1);
    for (const count of buckets) expect(Math.abs(count - 2500)).toBeLessThan(200);
  });

  it('spreads neighbouring seeds and streams apart', () => {
    const seeds = new Set([0, 1, 2].flatMap((seed) => [0, 1, 2].map((stream) => deriveSeed(seed, stream))));
    expect(seeds.size).toBe(9);
    expect(new SeededRandom(0).float()).not.toBeCloseTo(new SeededRandom(1).float(), 3);
  });
});
