/*
 * Layout `sensor-encoder@1`: one sensor reading as a unit vector whose cosine neighbours are
 * readings with similar scaled values at a similar time of day, week and year, and similar time
 * since the stream began. C = the stream's channel count, F = `frequencies`, s = local seconds since
 * midnight, t = the reading's instant, t₀ = the stream's first reading's instant (both in ms).
 *
 * | slots          | part      | each slot holds                                | scaled by      |
 * |----------------|-----------|------------------------------------------------|----------------|
 * | 0 … C−1        | values    | z_c = clip((x_c − mean_c) / std_c, ±clip),     | w_values / √C  |
 * |                |           | channels in the stream's order                 |                |
 * | C, C+1         | timeOfDay | sin θ, cos θ; θ = 2π · s / 86 400              | w_timeOfDay    |
 * | C+2, C+3       | dayOfWeek | sin θ, cos θ; θ = 2π · (d + s / 86 400) / 7,   | w_dayOfWeek    |
 * |                |           | d = 0 Monday … 6 Sunday                        |                |
 * | C+4, C+5       | dayOfYear | sin θ, cos θ; θ = 2π · (j + s / 86 400) / Y,   | w_dayOfYear    |
 * |                |           | j = 0 on 1 January, Y = 365 or 366             |                |
 * | C+6+2k, C+7+2k | elapsed k | sin θ, cos θ; θ = 2π · (t − t₀) / P_k,         | w_elapsed / √F |
 * |                |           | k = 0 … F−1                                    |                |
 *
 * P_k = minPeriodMs · (maxPeriodMs / minPeriodMs)^(k / (F − 1)) (P_0 = minPeriodMs when F = 1).
 * Dimensions: C + 6 + 2F. The whole vector is then divided by its norm.
 *
 * Why the scales: a (sin, cos) pair has norm 1, so each calendar part's sub-vector has norm exactly
 * its weight, and the elapsed part's F pairs scaled by 1/√F have norm w_elapsed together. The values
 * part has norm w_values · rms(z), i.e. w_values for readings as spread as the channels usually are.
 * The weights therefore say how much each part moves the cosine, whatever C and F are. The day and
 * year angles run on with the time of day, so 23:59 and 00:01 are neighbours in every part. The
 * elapsed part (Time2Vec's periodic terms at fixed, geometrically spaced frequencies) places a reading
 * in the stream's own history at scales from hours to a year, so of two readings alike by the
 * calendar the one nearer in time is usually the nearer vector, and this January is told from last January.
 *
 * A change to any of this is a new version: vectors of two layouts must not share an index.
 */
import { StreamKindInputError, normalize } from '../vectors';
import { type ChannelStats, DEFAULT_CLIP } from './channel-stats';
import { checkTimeZone, localTime } from './local-time';

const { cos, sin, sqrt, PI } = Math;
const TAU = 2 * PI;
const HOUR_MS = 3_600_000;
const DAY_SECONDS = 86_400;

/** How much each part of the layout moves the cosine between two readings (the part's norm). */
export interface SensorWeights {
  /** @defaultValue 1 */
  values: number;
  /** @defaultValue 1 */
  timeOfDay: number;
  /** @defaultValue 0.5 */
  dayOfWeek: number;
  /** @defaultValue 0.5 */
  dayOfYear: number;
  /** @defaultValue 0.25 */
  elapsed: number;
}

export interface SensorSettings {
  /** The IANA zone whose wall clock the calendar parts follow. @defaultValue 'UTC' */
  timeZone: string;
  /** |z| above this is clipped, so one wild value cannot outweigh the rest of the vector. @defaultValue 5 */
  clip: number;
  /** F, the number of elapsed-time frequencies. @defaultValue 8 */
  frequencies: number;
  /** The shortest elapsed-time period. @defaultValue 3 600 000 (1 hour) */
  minPeriodMs: number;
  /** The longest elapsed-time period. @defaultValue 31 536 000 000 (365 days) */
  maxPeriodMs: number;
  weights: SensorWeights;
}

export const DEFAULT_SENSOR_SETTINGS: Readonly<SensorSettings> = Object.freeze({
  timeZone: 'UTC',
  clip: DEFAULT_CLIP,
  frequencies: 8,
  minPeriodMs: HOUR_MS,
  maxPeriodMs: 365 * 24 * HOUR_MS,
  weights: Object.freeze({ values: 1, timeOfDay: 1, dayOfWeek: 0.5, dayOfYear: 0.5, elapsed: 0.25 }),
});

/** The vector length of layout `sensor-encoder@1`: C + 6 + 2F. */
export function sensorDimensions(channels: number, frequencies: number): number {
  for (const [name, n] of [
    ['channels', channels],
    ['frequencies', frequencies],
  ] as const)
    if (!Number.isInteger(n) || n < 0)
      throw new StreamKindInputError(`${name} must be a whole number ≥ 0, got ${n}`);
  return channels + 6 + 2 * frequencies;
}

/** A part's slots: `offset` up to `offset + length − 1`. */
export interface SensorSlots {
  offset: number;
  length: number;
}

/** Where each part of `sensor-encoder@1` sits, for C channels and F frequencies (the table above). */
export function sensorSlots(
  channels: number,
  frequencies: number,
): Record<'values' | 'timeOfDay' | 'dayOfWeek' | 'dayOfYear' | 'elapsed', SensorSlots> {
  sensorDimensions(channels, frequencies);
  return {
    values: { offset: 0, length: channels },
    timeOfDay: { offset: channels, length: 2 },
    dayOfWeek: { offset: channels + 2, length: 2 },
    dayOfYear: { offset: channels + 4, length: 2 },
    elapsed: { offset: channels + 6, length: 2 * frequencies },
  };
}

/** The layout's identity, stored beside the vectors it produced, and its shape. */
export const SENSOR_ENCODER_LAYOUT = Object.freeze({
  name: 'sensor-encoder',
  version: 1,
  id: 'sensor-encoder@1',
  dimensions: sensorDimensions,
  slots: sensorSlots,
});

/** The elapsed-time periods P_0 … P_{F−1}, geometrically spaced from the shortest to the longest. */
export function elapsedPeriodsMs(
  settings: Pick<SensorSettings, 'frequencies' | 'minPeriodMs' | 'maxPeriodMs'>,
): number[] {
  const { frequencies, minPeriodMs, maxPeriodMs } = settings;
  if (frequencies === 1) return [minPeriodMs];
  return Array.from(
    { length: frequencies },
    (_, k) => minPeriodMs * (maxPeriodMs / minPeriodMs) ** (k / (frequencies - 1)),
  );
}

function checkSettings(settings: SensorSettings): void {
  const { clip, frequencies, minPeriodMs, maxPeriodMs, weights } = settings;
  if (!(clip > 0)) throw new StreamKindInputError(`clip must be > 0, got ${clip}`);
  if (!Number.isInteger(frequencies) || frequencies < 0)
    throw new StreamKindInputError(`frequencies must be a whole number ≥ 0, got ${frequencies}`);
  if (!(minPeriodMs > 0 && maxPeriodMs >= minPeriodMs && Number.isFinite(maxPeriodMs)))
    throw new StreamKindInputError(
      `periods must satisfy 0 < minPeriodMs ≤ maxPeriodMs, got ${minPeriodMs} and ${maxPeriodMs}`,
    );
  for (const [part, weight] of Object.entries(weights))
    if (!(weight >= 0 && Number.isFinite(weight)))
      throw new StreamKindInputError(`weights.${part} must be a finite number ≥ 0, got ${weight}`);
  checkTimeZone(settings.timeZone);
}

function instant(time: Date | number, name: string): number {
  const ms = typeof time === 'number' ? time : time.getTime();
  if (!Number.isFinite(ms)) throw new StreamKindInputError(`${name} is not a valid instant`);
  return ms;
}

export interface SensorReading {
  /** One value per channel. A channel the reading lacks encodes as its mean (z = 0); names outside the stream's channels are ignored. */
  values: Readonly<Record<string, number>>;
  /** The instant of the reading, a Date or milliseconds since the epoch. */
  timestamp: Date | number;
}

/** What the caller keeps per stream for the encoder. */
export interface SensorStreamState {
  /** The running stats, which also fix the channel order. The caller updates them; this only reads. */
  stats: ChannelStats;
  /** When the stream's first reading was taken: the elapsed part's origin. */
  firstReadingAt: Date | number;
}

/**
 * A reading as a `sensor-encoder@1` vector. Pure: the caller decides whether the reading is counted
 * into `stats` before it is encoded (then it is scaled partly by itself) or after.
 *
 * @throws StreamKindInputError on bad settings, a non-finite value or instant, or a vector with no
 *   direction (every weight 0, or only values weighted and every z 0).
 */
export function encodeReading(
  reading: SensorReading,
  stream: SensorStreamState,
  settings: SensorSettings = DEFAULT_SENSOR_SETTINGS,
): Float32Array {
  checkSettings(settings);
  const t = instant(reading.timestamp, 'timestamp');
  const elapsedMs = t - instant(stream.firstReadingAt, 'firstReadingAt');
  const { channels } = stream.stats;
  const { weights } = settings;
  const vector = new Float64Array(sensorDimensions(channels.length, settings.frequencies));
  let slot = 0;
  const pair = (angle: number, scale: number) => {
    vector[slot++] = scale * sin(angle);
    vector[slot++] = scale * cos(angle);
  };

  const valueScale = channels.length === 0 ? 0 : weights.values / sqrt(channels.length);
  for (const channel of channels) {
    const x = reading.values[channel];
    if (x !== undefined && !Number.isFinite(x))
      throw new StreamKindInputError(`channel ${channel} has the non-finite value ${x}`);
    vector[slot++] = x === undefined ? 0 : valueScale * stream.stats.zScore(channel, x, settings.clip);
  }

  const local = localTime(t, settings.timeZone);
  const dayFraction = local.secondOfDay / DAY_SECONDS;
  pair(TAU * dayFraction, weights.timeOfDay);
  pair((TAU * (local.dayOfWeek + dayFraction)) / 7, weights.dayOfWeek);
  pair((TAU * (local.dayOfYear + dayFraction)) / local.daysInYear, weights.dayOfYear);

  const elapsedScale = settings.frequencies === 0 ? 0 : weights.elapsed / sqrt(settings.frequencies);
  for (const period of elapsedPeriodsMs(settings)) pair((TAU * elapsedMs) / period, elapsedScale);

  return normalize(vector, 'the encoded reading');
}
