import { nearestByCosine, periodicReadings } from '../testing/periodic-signal';
import { StreamKindInputError } from '../vectors';
import { ChannelStats } from './channel-stats';
import { localTime } from './local-time';
import {
  DEFAULT_SENSOR_SETTINGS,
  SENSOR_ENCODER_LAYOUT,
  type SensorSettings,
  elapsedPeriodsMs,
  encodeReading,
  sensorDimensions,
  sensorSlots,
} from './sensor-encoder';

const HOUR_MS = 3_600_000;

function expectVector(actual: Float32Array, expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((x, i) => expect(actual[i]).toBeCloseTo(x, 6));
}

describe('sensor-encoder@1 layout', () => {
  it('has C + 6 + 2F slots in the documented order', () => {
    expect(SENSOR_ENCODER_LAYOUT.id).toBe(`${SENSOR_ENCODER_LAYOUT.name}@${SENSOR_ENCODER_LAYOUT.version}`);
    expect(sensorDimensions(3, 8)).toBe(25);
    expect(sensorDimensions(0, 0)).toBe(6);
    expect(sensorSlots(3, 8)).toEqual({
      values: { offset: 0, length: 3 },
      timeOfDay: { offset: 3, length: 2 },
      dayOfWeek: { offset: 5, length: 2 },
      dayOfYear: { offset: 7, length: 2 },
      elapsed: { offset: 9, length: 16 },
    });
    expect(() => sensorDimensions(1.5, 8)).toThrow(StreamKindInputError);
  });

  it('spaces the elapsed periods geometrically from 1 hour to 365 days', () => {
    const periods = elapsedPeriodsMs(DEFAULT_SENSOR_SETTINGS);
    expect(periods).toHaveLength(8);
    expect(periods[0]).toBe(HOUR_MS);
    expect(periods[7]).toBeCloseTo(365 * 24 * HOUR_MS, 0);
    const ratio = (365 * 24) ** (1 / 7);
    for (let k = 1; k < 8; k++) expect(periods[k]! / periods[k - 1]!).toBeCloseTo(ratio, 12);
    expect(elapsedPeriodsMs({ frequencies: 1, minPeriodMs: 5, maxPeriodMs: 50 })).toEqual([5]);
  });
});

describe('encodeReading', () => {
  it('encodes UTC midnight of a Monday, first reading, no stats yet (hand-computed)', () => {
    // 2024-01-01 is a Monday. Every angle is 0 → (sin, cos) = (0, 1); z = 0 (no stats yet).
    // Before normalising: values (0, 0); time of day (0, 1); day of week (0, 0.5); day of year (0, 0.5);
    // elapsed 8 × (0, 0.25/√8). Norm² = 1 + 0.25 + 0.25 + 8·0.0625/8 = 1.5625, norm 1.25:
    // cosines 0.8, 0.4, 0.4 and 0.2/√8.
    const at = Date.UTC(2024, 0, 1);
    const vector = encodeReading(
      { values: { a: 3, b: 4 }, timestamp: new Date(at) },
      { stats: new ChannelStats(['a', 'b']), firstReadingAt: at },
    );
    const elapsed = 0.2 / Math.sqrt(8);
    expectVector(vector, [0, 0, 0, 0.8, 0, 0.4, 0, 0.4, ...new Array<number[]>(8).fill([0, elapsed]).flat()]);
  });

  it('encodes Thursday noon with scaled values and two frequencies (hand-computed)', () => {
    // a: stats of 1, 2, 3 (mean 2, std 1), value 4 → z 2; b: never varied → z 0. Values part
    // (2, 0)·1/√2 = (√2, 0).
    // 2024-01-04 12:00 UTC: time of day π → (0, −1). Thursday = 3, (3 + 0.5)/7 of a turn = π → 0.5·(0, −1).
    // Day of year: 4 January is j = 3, 2024 has 366 days: θ = 2π·3.5/366 = 7π/366 → 0.5·(sin θ, cos θ).
    // Elapsed 6 h since 06:00: periods 1 h (θ = 12π → (0, 1)) and 24 h (θ = π/2 → (1, 0)), each × 0.25/√2.
    // Norm² = 2 + 1 + 0.25 + 0.25 + 2·0.0625/2 = 3.5625.
    const stats = new ChannelStats(['a', 'b']);
    [1, 2, 3].forEach((a) => stats.update({ a, b: 5 }));
    const settings: SensorSettings = {
      ...DEFAULT_SENSOR_SETTINGS,
      frequencies: 2,
      maxPeriodMs: 24 * HOUR_MS,
    };
    const vector = encodeReading(
      { values: { a: 4, b: 9 }, timestamp: Date.UTC(2024, 0, 4, 12) },
      { stats, firstReadingAt: Date.UTC(2024, 0, 4, 6) },
      settings,
    );
    const n = Math.sqrt(3.5625);
    const year = (7 * Math.PI) / 366;
    const e = 0.25 / Math.sqrt(2);
    expectVector(
      vector,
      [Math.SQRT2, 0, 0, -1, 0, -0.5, 0.5 * Math.sin(year), 0.5 * Math.cos(year), 0, e, e, 0].map(
        (x) => x / n,
      ),
    );
  });

  it('encodes 03:00 in New York as 03:00 on both sides of each DST change', () => {
    const settings: SensorSettings = { ...DEFAULT_SENSOR_SETTINGS, timeZone: 'America/New_York' };
    const stats = new ChannelStats([]);
    const threeAm = [
      Date.UTC(2024, 2, 9, 8), // Saturday, EST (UTC−5)
      Date.UTC(2024, 2, 10, 7), // Sunday, EDT (UTC−4): the clocks went from 02:00 to 03:00
      Date.UTC(2024, 10, 2, 7), // Saturday, EDT
      Date.UTC(2024, 10, 3, 8), // Sunday, EST: the clocks went from 02:00 back to 01:00
    ];
    // No channels and z-free: the norm is √(1 + 0.25 + 0.25 + 0.0625) = 1.25 at any instant.
    const expected = [Math.sin(Math.PI / 4) / 1.25, Math.cos(Math.PI / 4) / 1.25];
    for (const at of threeAm) {
      expect(localTime(at, 'America/New_York').secondOfDay).toBe(3 * 3600);
      const { offset } = sensorSlots(0, 8).timeOfDay;
      const vector = encodeReading(
        { values: {}, timestamp: at },
        { stats, firstReadingAt: threeAm[0]! },
        settings,
      );
      expectVector(vector.subarray(offset, offset + 2), expected);
    }
    // The same instants in UTC are 07:00 and 08:00, an hour apart.
    const utc = threeAm.map((at) => localTime(at, 'UTC').secondOfDay / 3600);
    expect(utc).toEqual([8, 7, 7, 8]);
  });

  it('reads the local calendar: weekday, day of year and leap years', () => {
    expect(localTime(Date.UTC(2024, 2, 10, 7), 'America/New_York')).toEqual({
      secondOfDay: 3 * 3600,
      dayOfWeek: 6,
      dayOfYear: 69,
      daysInYear: 366,
    });
    // 03:00 UTC on 1 January 2024 is still New Year's Eve 2023, a Sunday, in New York.
    expect(localTime(Date.UTC(2024, 0, 1, 3, 0, 1, 500), 'America/New_York')).toEqual({
      secondOfDay: 22 * 3600 + 1.5,
      dayOfWeek: 6,
      dayOfYear: 364,
      daysInYear: 365,
    });
    expect(localTime(Date.UTC(2024, 11, 31, 23, 59), 'UTC').dayOfYear).toBe(365);
    expect(localTime(Date.UTC(2024, 0, 1, 0, 0), 'Asia/Kolkata').secondOfDay).toBe(5.5 * 3600);
  });

  it('clips a wild value so it cannot outweigh the rest of the vector', () => {
    const stats = new ChannelStats(['x']);
    [0, 2, 4].forEach((x) => stats.update({ x }));
    const encode = (x: number) =>
      encodeReading({ values: { x }, timestamp: 0 }, { stats, firstReadingAt: 0 }, DEFAULT_SENSOR_SETTINGS);
    // x = 12 and x = 1e9 are both z = +5 after clipping: the same vector.
    expect(encode(1e9)).toEqual(encode(12));
    expect(encode(-1e9)[0]).toBeCloseTo(-encode(12)[0]!, 6);
  });

  it('encodes a channel the reading lacks as its mean', () => {
    const stats = new ChannelStats(['x', 'y']);
    [0, 2, 4].forEach((x) => stats.update({ x, y: x }));
    const state = { stats, firstReadingAt: 0 };
    expect(encodeReading({ values: { x: 5 }, timestamp: 0 }, state)).toEqual(
      encodeReading({ values: { x: 5, y: 2, other: 1 }, timestamp: 0 }, state),
    );
  });

  it('refuses bad settings and readings', () => {
    const state = { stats: new ChannelStats(['x']), firstReadingAt: 0 };
    const reading = { values: { x: 1 }, timestamp: 0 };
    const bad = (overrides: Partial<SensorSettings>) => () =>
      encodeReading(reading, state, { ...DEFAULT_SENSOR_SETTINGS, ...overrides });
    expect(bad({ timeZone: 'Mars/Olympus_Mons' })).toThrow(/not an IANA time zone/);
    expect(bad({ clip: 0 })).toThrow(/clip/);
    expect(bad({ frequencies: -1 })).toThrow(/frequencies/);
    expect(bad({ minPeriodMs: 10, maxPeriodMs: 5 })).toThrow(/periods/);
    expect(bad({ weights: { ...DEFAULT_SENSOR_SETTINGS.weights, dayOfWeek: -1 } })).toThrow(
      /weights.dayOfWeek/,
    );
    expect(bad({ weights: { values: 1, timeOfDay: 0, dayOfWeek: 0, dayOfYear: 0, elapsed: 0 } })).toThrow(
      /zero vector/,
    );
    expect(() => encodeReading({ values: { x: Infinity }, timestamp: 0 }, state)).toThrow(/non-finite/);
    expect(() => encodeReading({ values: { x: 1 }, timestamp: new Date('nope') }, state)).toThrow(
      /timestamp is not a valid instant/,
    );
  });

  it.each([1, 2, 3])(
    'puts a 03:00 reading nearest to the 02:00–04:00 readings, and to other days’ 03:00 (seed %p)',
    (seed) => {
      // Hourly readings of a daily sine plus noise over 14 days; the stats are still settling on the
      // first day, so the queries start on day 2. Noise can make a 03:00 reading look like 05:00's
      // (the sine is rising there), so beyond the first three the bounds leave room for a few.
      const readings = periodicReadings({ start: Date.UTC(2024, 0, 1), days: 14, noise: 0.3, seed });
      const inBand = (reading: { hour: number }) => [2, 3, 4].includes(reading.hour % 24);
      const dayOf = (reading: { hour: number }) => Math.floor(reading.hour / 24);
      let topTen = 0;
      let otherDayThreeAm = 0;
      for (let day = 2; day < 14; day++) {
        const nearest = nearestByCosine(readings[day * 24 + 3]!, readings);
        expect(nearest.slice(0, 3).every(inBand)).toBe(true);
        topTen += nearest.slice(0, 10).filter(inBand).length;
        const otherDay = nearest.find((reading) => dayOf(reading) !== day)!;
        expect(inBand(otherDay)).toBe(true);
        if (otherDay.hour % 24 === 3) otherDayThreeAm++;
      }
      expect(topTen / 120).toBeGreaterThanOrEqual(0.9);
      expect(otherDayThreeAm).toBeGreaterThanOrEqual(10);
    },
  );
});
