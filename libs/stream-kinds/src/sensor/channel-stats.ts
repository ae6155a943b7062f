// A sensor stream's channels are scaled by their own running mean and spread, so a temperature in
// kelvin and a door counter weigh alike in the reading's vector; Welford's update keeps both exact
// enough over millions of readings without storing any of them.
import { StreamKindInputError } from '../vectors';

/** How far from the mean a value may be scaled before it is clipped, in standard deviations. */
export const DEFAULT_CLIP = 5;

/** `ChannelStats` as JSON, one entry per channel in the stream's channel order. */
export interface ChannelStatsState {
  channels: string[];
  count: number[];
  mean: number[];
  /** Σ (x − mean)², Welford's running sum of squared deviations. */
  m2: number[];
}

/** What one channel's readings have been so far. */
export interface ChannelSummary {
  count: number;
  mean: number;
  /** The sample variance (n − 1); NaN before the second value. */
  variance: number;
}

/**
 * Running mean and variance per channel (Welford), in the stream's fixed channel order. The order is
 * the layout of the values part of every vector the stream stores, so it is fixed when the stream
 * sees its first reading and kept with these stats.
 */
export class ChannelStats {
  readonly channels: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  private readonly count: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(channels: readonly string[]) {
    this.channels = Object.freeze(channels.slice());
    this.index = new Map(channels.map((channel, i) => [channel, i]));
    if (this.index.size !== channels.length) throw new StreamKindInputError('channel names must be distinct');
    this.count = new Float64Array(channels.length);
    this.mean = new Float64Array(channels.length);
    this.m2 = new Float64Array(channels.length);
  }

  /**
   * Stats for a stream whose first reading is `values`: its channel names sorted by UTF-16 code
   * unit (`Array.prototype.sort`), not by locale, so every process orders them alike. No values are
   * counted yet.
   */
  static forFirstReading(values: Readonly<Record<string, number>>): ChannelStats {
    return new ChannelStats(Object.keys(values).sort());
  }

  /**
   * Counts a reading. Channels the reading lacks keep their stats; names outside the channel list are
   * ignored (a new channel would change the stream's dimensions). A non-finite value is refused before
   * anything is counted, since one NaN would poison the mean for good.
   */
  update(values: Readonly<Record<string, number>>): void {
    for (const channel of this.channels) {
      const x = values[channel];
      if (x !== undefined && !Number.isFinite(x))
        throw new StreamKindInputError(`channel ${channel} has the non-finite value ${x}`);
    }
    this.channels.forEach((channel, i) => {
      const x = values[channel];
      if (x === undefined) return;
      const n = ++this.count[i]!;
      const delta = x - this.mean[i]!;
      this.mean[i]! += delta / n;
      this.m2[i]! += delta * (x - this.mean[i]!);
    });
  }

  summary(channel: string): ChannelSummary {
    const i = this.channelIndex(channel);
    const count = this.count[i]!;
    return { count, mean: this.mean[i]!, variance: count < 2 ? Number.NaN : this.m2[i]! / (count - 1) };
  }

  /**
   * `(x − mean) / std` clipped to ±`clip`. Before two values, or on a channel that has never varied,
   * there is no scale to measure by: 0, the value counts as ordinary.
   */
  zScore(channel: string, x: number, clip = DEFAULT_CLIP): number {
    const { count, mean, variance } = this.summary(channel);
    if (count < 2 || !(variance > 0)) return 0;
    const z = (x - mean) / Math.sqrt(variance);
    return Math.max(-clip, Math.min(clip, z));
  }

  toJSON(): ChannelStatsState {
    return {
      channels: this.channels.slice(),
      count: Array.from(this.count),
      mean: Array.from(this.mean),
      m2: Array.from(this.m2),
    };
  }

  static fromJSON(state: ChannelStatsState): ChannelStats {
    const stats = new ChannelStats(state.channels);
    const n = state.channels.length;
    const columns = [state.count, state.mean, state.m2];
    if (columns.some((column) => column.length !== n || !column.every(Number.isFinite)))
      throw new StreamKindInputError(`channel stats need ${n} finite counts, means and m2 values`);
    if (
      !state.count.every((count) => Number.isInteger(count) && count >= 0) ||
      !state.m2.every((m2) => m2 >= 0)
    )
      throw new StreamKindInputError('channel stats counts must be whole numbers ≥ 0 and m2 values ≥ 0');
    stats.count.set(state.count);
    stats.mean.set(state.mean);
    stats.m2.set(state.m2);
    return stats;
  }

  private channelIndex(channel: string): number {
    const i = this.index.get(channel);
    if (i === undefined) throw new StreamKindInputError(`${channel} is not one of the stream's channels`);
    return i;
  }
}
