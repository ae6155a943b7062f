// A synthetic sensor stream for the specs: a daily sine plus noise, read hourly.
import { ChannelStats } from '../sensor/channel-stats';
import { type SensorSettings, encodeReading } from '../sensor/sensor-encoder';
import { TestRandom } from './seeded-vectors';

const HOUR_MS = 3_600_000;

export interface EncodedReading {
  at: number;
  /** Hours since the first reading. */
  hour: number;
  temperature: number;
  vector: Float32Array;
}

/**
 * `days` × 24 hourly readings from `start` of `temperature = 20 + 5·sin(2π·hour/24) + N(0, noise²)`,
 * each counted into the stream's stats and then encoded, as a live stream would be; `spikeAt` (an
 * hour) adds `spike` to that one reading.
 */
export function periodicReadings(options: {
  start: number;
  days: number;
  noise: number;
  seed: number;
  settings?: SensorSettings;
  spikeAt?: number;
  spike?: number;
}): EncodedReading[] {
  const random = new TestRandom(options.seed);
  const stats = new ChannelStats(['temperature']);
  return Array.from({ length: options.days * 24 }, (_, hour) => {
    const at = options.start + hour * HOUR_MS;
    const temperature =
      20 +
      5 * Math.sin((2 * Math.PI * hour) / 24) +
      options.noise * random.normal() +
      (hour === options.spikeAt ? (options.spike ?? 0) : 0);
    stats.update({ temperature });
    const vector = encodeReading(
      { values: { temperature }, timestamp: at },
      { stats, firstReadingAt: options.start },
      options.settings,
    );
    return { at, hour, temperature, vector };
  });
}

/** The readings other than `query`, nearest first by cosine (brute force). */
export function nearestByCosine(
  query: EncodedReading,
  readings: readonly EncodedReading[],
): EncodedReading[] {
  const cosine = (a: Float32Array, b: Float32Array) => {
    let total = 0;
    for (let i = 0; i < a.length; i++) total += a[i]! * b[i]!;
    return total;
  };
  return readings
    .filter((reading) => reading !== query)
    .map((reading) => ({ reading, similarity: cosine(query.vector, reading.vector) }))
    .sort((a, b) => b.similarity - a.similarity)
    .map(({ reading }) => reading);
}
