import { TestRandom } from '../testing/seeded-vectors';
import { StreamKindInputError } from '../vectors';
import { ChannelStats, type ChannelStatsState } from './channel-stats';

function twoPass(values: readonly number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, x) => a + (x - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

describe('ChannelStats', () => {
  it('orders the channels of the first reading by code unit, whatever the locale', () => {
    expect(ChannelStats.forFirstReading({ humidity: 1, Zone: 2, co2: 3, temperature: 4 }).channels).toEqual([
      'Zone',
      'co2',
      'humidity',
      'temperature',
    ]);
  });

  it('agrees with a two-pass mean and variance, even far from zero', () => {
    const random = new TestRandom(5);
    const far = Array.from({ length: 1000 }, () => 1e6 + random.normal());
    const near = Array.from({ length: 1000 }, () => 3 * random.normal());
    const stats = new ChannelStats(['far', 'near', 'sparse']);
    far.forEach((x, i) =>
      stats.update(i % 3 === 0 ? { far: x, near: near[i]!, sparse: near[i]! } : { far: x, near: near[i]! }),
    );
    for (const [channel, values] of [
      ['far', far],
      ['near', near],
      ['sparse', near.filter((_, i) => i % 3 === 0)],
    ] as const) {
      const expected = twoPass(values);
      const summary = stats.summary(channel);
      expect(summary.count).toBe(values.length);
      // Relative: near 1e6 both sums round at ~1e-10 absolute.
      expect(Math.abs(summary.mean - expected.mean) / Math.max(1, Math.abs(expected.mean))).toBeLessThan(
        1e-12,
      );
      expect(summary.variance / expected.variance).toBeCloseTo(1, 9);
    }
  });

  it('scales to z and clips it at ±clip', () => {
    // 0, 2, 4: mean 2, sample variance (4 + 0 + 4)/2 = 4, std 2.
    const stats = new ChannelStats(['x']);
    [0, 2, 4].forEach((x) => stats.update({ x }));
    expect(stats.zScore('x', 5)).toBe(1.5);
    expect(stats.zScore('x', -4)).toBe(-3);
    expect(stats.zScore('x', 100)).toBe(5);
    expect(stats.zScore('x', -100)).toBe(-5);
    expect(stats.zScore('x', 100, 2)).toBe(2);
  });

  it('scales to 0 before two values and on a channel that never varied', () => {
    const stats = new ChannelStats(['once', 'flat']);
    stats.update({ once: 3, flat: 7 });
    expect(stats.summary('once').variance).toBeNaN();
    expect(stats.zScore('once', 10)).toBe(0);
    stats.update({ flat: 7 });
    expect(stats.zScore('flat', 100)).toBe(0);
  });

  it('round-trips through JSON and goes on counting where it stopped', () => {
    const stats = new ChannelStats(['a', 'b']);
    [1, 2, 3].forEach((a) => stats.update({ a, b: a * 10 }));
    const loaded = ChannelStats.fromJSON(JSON.parse(JSON.stringify(stats)) as ChannelStatsState);
    stats.update({ a: 10, b: 0 });
    loaded.update({ a: 10, b: 0 });
    expect(loaded.toJSON()).toEqual(stats.toJSON());
    expect(loaded.channels).toEqual(['a', 'b']);
  });

  it('refuses what would corrupt the stats', () => {
    const stats = new ChannelStats(['a', 'b']);
    expect(() => stats.update({ a: 1, b: Number.NaN })).toThrow(/channel b has the non-finite value NaN/);
    expect(stats.summary('a').count).toBe(0);
    expect(() => stats.summary('c')).toThrow(/c is not one of the stream's channels/);
    expect(() => new ChannelStats(['a', 'a'])).toThrow(StreamKindInputError);
    expect(() => ChannelStats.fromJSON({ channels: ['a'], count: [1], mean: [0], m2: [-1] })).toThrow(
      StreamKindInputError,
    );
    expect(() => ChannelStats.fromJSON({ channels: ['a'], count: [], mean: [0], m2: [0] })).toThrow(
      StreamKindInputError,
    );
  });
});
