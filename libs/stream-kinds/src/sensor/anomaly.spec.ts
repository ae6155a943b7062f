import { periodicReadings } from '../testing/periodic-signal';
import { StreamKindInputError } from '../vectors';
import { kthNeighbourDistance } from './anomaly';

const v = (...xs: number[]) => Float32Array.from(xs);

describe('kthNeighbourDistance', () => {
  it('is 1 − cos to the k-th nearest (hand-computed)', () => {
    const query = v(1, 0);
    // Distances 0 (an equal but distinct vector), 1 − 0.6 = 0.4, 1 (orthogonal), 2 (opposite).
    const recent = [v(0, 1), v(-2, 0), v(3, 4), v(1, 0)];
    [0, 0.4, 1, 2].forEach((distance, i) =>
      expect(kthNeighbourDistance(query, recent, i + 1)).toBeCloseTo(distance, 12),
    );
  });

  it('skips the reading itself when the window already holds it', () => {
    const query = v(1, 0);
    expect(kthNeighbourDistance(query, [query, v(0, 1)], 1)).toBe(1);
  });

  it('is NaN until the window holds k other readings', () => {
    const query = v(1, 0);
    expect(kthNeighbourDistance(query, [query, v(0, 1), v(1, 1)], 3)).toBeNaN();
    expect(kthNeighbourDistance(query, [])).toBeNaN();
  });

  it('refuses what has no cosine', () => {
    expect(() => kthNeighbourDistance(v(1, 0), [v(1, 0)], 0)).toThrow(/k must be/);
    expect(() => kthNeighbourDistance(v(1, 0), [v(1, 0, 0)], 1)).toThrow(/recent\[0\] has 3 dimensions/);
    expect(() => kthNeighbourDistance(v(0, 0), [v(1, 0)], 1)).toThrow(StreamKindInputError);
    expect(() => kthNeighbourDistance(v(1, 0), [v(0, 0)], 1)).toThrow(/recent\[0\] is the zero vector/);
  });

  it('scores an injected spike in a periodic signal highest', () => {
    // Day 10, 15:00: 8 degrees above a daily sine of 20 ± 5 (noise σ 0.3). 16.5 + 8 = 24.5 is a
    // value the stream reaches every morning: it is unusual only for its time of day, which is what
    // the calendar parts of the vector let the distance see.
    const spikeAt = 10 * 24 + 15;
    const readings = periodicReadings({
      start: Date.UTC(2024, 0, 1),
      days: 14,
      noise: 0.3,
      seed: 9,
      spikeAt,
      spike: 8,
    });
    // Each reading from day 7 on against the week before it (N = 168, the caller's window).
    const scores = readings.slice(7 * 24).map((reading, i) => ({
      hour: reading.hour,
      score: kthNeighbourDistance(
        reading.vector,
        readings.slice(i, 7 * 24 + i).map((r) => r.vector),
      ),
    }));
    const ranked = scores.slice().sort((a, b) => b.score - a.score);
    expect(ranked[0]!.hour).toBe(spikeAt);
    expect(ranked[0]!.score).toBeGreaterThan(2 * ranked[1]!.score);
  });
});
