import { nearDirection, randomDirection, seededRandom } from './testing/synthetic-topics';
import {
  CentroidRanker,
  TopicItem,
  TopicTracker,
  TopicTrackerError,
  TopicTrackerOptions,
} from './topic-tracker';
import { TopicTrackerState } from './topic-state';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A Monday, midnight UTC: on every bucket boundary. */
const T0 = Date.UTC(2026, 0, 5);
const DIMENSIONS = 96;

interface Subject {
  name: string;
  words: string[];
}

const STEADY: Subject[] = [
  { name: 'football', words: ['striker', 'goal', 'league', 'referee', 'match', 'keeper'] },
  { name: 'markets', words: ['stocks', 'index', 'bonds', 'earnings', 'rally', 'traders'] },
  { name: 'weather', words: ['rain', 'forecast', 'storm', 'sunny', 'wind', 'umbrella'] },
  { name: 'cooking', words: ['recipe', 'oven', 'garlic', 'pasta', 'butter', 'dinner'] },
  { name: 'transit', words: ['train', 'delay', 'station', 'platform', 'commute', 'signal'] },
];
const BURST: Subject = {
  name: 'volcano',
  words: ['volcano', 'eruption', 'ash', 'lava', 'crater', 'flights'],
};

/** A tweet-like text on `subject`: three of its words and a filler. */
function textOn(subject: Subject, random: () => number): string {
  const pick = () => subject.words[Math.floor(random() * subject.words.length)] as string;
  return `${pick()} ${pick()} and ${pick()} this morning`;
}

/**
 * Five steady subjects for 30 hours (12 items an hour each on average, at uniformly random times,
 * so hourly counts are about Poisson(12)), and a new subject bursting with 40 items inside hour 28.
 * Items come in event-time order.
 */
function replay(seed = 42): TopicItem[] {
  const random = seededRandom(seed);
  const items: TopicItem[] = [];
  const directions = new Map<string, Float32Array>();
  for (const subject of [...STEADY, BURST]) directions.set(subject.name, randomDirection(DIMENSIONS, random));
  const item = (subject: Subject, n: number, eventTime: number): TopicItem => ({
    id: `${subject.name}-${n}`,
    text: textOn(subject, random),
    eventTime,
    vector: nearDirection(directions.get(subject.name) as Float32Array, 0.5, random),
  });
  for (const subject of STEADY) {
    for (let n = 0; n < 12 * 30; n++) items.push(item(subject, n, T0 + Math.floor(random() * 30 * HOUR)));
  }
  for (let n = 0; n < 40; n++) items.push(item(BURST, n, T0 + 28 * HOUR + Math.floor(random() * HOUR)));
  return items.sort((a, b) => a.eventTime - b.eventTime || (a.id < b.id ? -1 : 1));
}

function track(items: readonly TopicItem[], options: Partial<TopicTrackerOptions> = {}): TopicTracker {
  const tracker = new TopicTracker({ dimensions: DIMENSIONS, ...options });
  for (const item of items) tracker.add(item);
  return tracker;
}

const hour = (h: number) => ({ from: T0 + h * HOUR, to: T0 + (h + 1) * HOUR });
const everything = { minCount: 0, minScore: Number.NEGATIVE_INFINITY, limit: 100 };

describe('TopicTracker', () => {
  const items = replay();
  const tracker = track(items);

  it('finds one topic per subject', () => {
    expect(tracker.size).toBe(6);
    expect(tracker.topics().map((t) => t.items)).toEqual([360, 360, 360, 360, 360, 40].sort((a, b) => b - a));
  });

  it('puts a new subject bursting inside a window at the top of that window, with its own texts', () => {
    const { topics } = tracker.trends(hour(28));
    expect(topics).toHaveLength(1); // nothing else emerges
    const [top] = topics;
    expect(top).toMatchObject({ count: 40, baseline: 1, score: 39 });
    expect(top?.pValue).toBeLessThan(1e-30);
    expect(top?.firstSeen).toBeGreaterThanOrEqual(T0 + 28 * HOUR);
    expect(top?.representatives).toHaveLength(3);
    for (const rep of top?.representatives ?? []) {
      expect(rep.id).toMatch(/^volcano-/);
      expect(items.find((i) => i.id === rep.id)?.text).toBe(rep.text);
    }
    // Its own words (and the filler every text shares), none of the steady subjects'.
    expect(top?.keywords.filter((word) => BURST.words.includes(word)).length).toBeGreaterThanOrEqual(3);
    expect(top?.keywords.some((word) => STEADY.some((s) => s.words.includes(word)))).toBe(false);
  });

  it('scores steady subjects low against their own baseline', () => {
    const { topics } = tracker.trends({ ...hour(28), ...everything });
    expect(topics).toHaveLength(6);
    expect(topics[0]?.count).toBe(40);
    for (const steady of topics.slice(1)) {
      expect(Math.abs(steady.score)).toBeLessThan(3);
      expect(steady.baseline).toBeGreaterThan(9);
      expect(steady.baseline).toBeLessThan(15);
    }
    for (let h = 4; h < 28; h += 4) expect(tracker.trends(hour(h)).topics).toEqual([]);
  });

  it('gives the same topics and scores for the same replay', () => {
    const again = track(replay());
    expect(again.toJSON()).toEqual(tracker.toJSON());
    expect(again.trends({ ...hour(28), ...everything })).toEqual(
      tracker.trends({ ...hour(28), ...everything }),
    );
  });

  it('carries on from a restored state exactly as if it had never stopped', () => {
    for (const split of [1, 700, 1523]) {
      const first = track(items.slice(0, split));
      const saved = JSON.parse(JSON.stringify(first.toJSON())) as TopicTrackerState;
      const restored = TopicTracker.fromJSON(saved);
      for (const item of items.slice(split)) restored.add(item);
      expect(restored.toJSON()).toEqual(tracker.toJSON());
      expect(restored.trends({ ...hour(28), ...everything })).toEqual(
        tracker.trends({ ...hour(28), ...everything }),
      );
    }
  });

  it('counts items arriving out of order and late in the windows of their event times', () => {
    const random = seededRandom(7);
    const inHour = (h: number) =>
      items.filter((i) => i.eventTime >= hour(h).from && i.eventTime < hour(h).to);
    const before = items.filter((i) => i.eventTime < hour(27).from);
    const after = items.filter((i) => i.eventTime >= hour(29).from);
    const h27 = inHour(27);
    // Hour 28 shuffled, and a third of hour 27's items arriving only after all of hour 28.
    const shuffled = inHour(28)
      .map((item) => ({ item, key: random() }))
      .sort((a, b) => a.key - b.key)
      .map(({ item }) => item);
    const late = h27.filter((_, i) => i % 3 === 0);
    const reordered = [...before, ...h27.filter((_, i) => i % 3 !== 0), ...shuffled, ...late, ...after];
    expect(reordered).toHaveLength(items.length);

    const other = track(reordered);
    const counts = (t: TopicTracker, h: number) =>
      t
        .trends({ ...hour(h), ...everything })
        .topics.map(({ id, count, baseline, score }) => ({ id, count, baseline, score }));
    for (const h of [26, 27, 28, 29]) expect(counts(other, h)).toEqual(counts(tracker, h));
    for (const topic of tracker.topics()) {
      expect(other.series(topic.id, { from: T0, to: T0 + 30 * HOUR })).toEqual(
        tracker.series(topic.id, { from: T0, to: T0 + 30 * HOUR }),
      );
    }
  });

  it('keeps per-bucket counts for series', () => {
    const [football] = tracker.topics();
    const series = tracker.series(football?.id as string, { from: T0, to: T0 + 30 * HOUR }) as number[];
    expect(series).toHaveLength(360);
    expect(series.reduce((a, b) => a + b, 0)).toBe(360);
    expect(tracker.series('t999', hour(1))).toBeUndefined();
  });
});

describe('TopicTracker approximate search', () => {
  const random = seededRandom(11);
  const subjects = Array.from({ length: 300 }, () => randomDirection(256, random));
  const items: TopicItem[] = Array.from({ length: 1500 }, (_, n) => ({
    id: `i${n}`,
    text: '',
    eventTime: T0 + n * 10_000,
    vector: nearDirection(subjects[n % 300] as Float32Array, 0.6, random),
  }));
  const exact = new TopicTracker({ dimensions: 256, approximateAbove: Number.POSITIVE_INFINITY });
  const sketched = new TopicTracker({ dimensions: 256, approximateAbove: 0 });
  const assignments = { exact: [] as unknown[], sketched: [] as unknown[] };
  beforeAll(() => {
    for (const item of items) {
      assignments.exact.push(exact.add(item));
      assignments.sketched.push(sketched.add(item));
    }
  });

  it('finds the same topics as the exact search on well-separated subjects', () => {
    expect(exact.options.approximateAbove).toBe(1000); // "always exact", kept JSON-safe (maxTopics)
    expect(sketched.size).toBe(300);
    expect(assignments.sketched).toEqual(assignments.exact);
    expect(sketched.toJSON().topics).toEqual(exact.toJSON().topics);
  });

  it('carries on from a restored state exactly as if it had never stopped', () => {
    const first = new TopicTracker({ dimensions: 256, approximateAbove: 0 });
    for (const item of items.slice(0, 800)) first.add(item);
    const restored = TopicTracker.fromJSON(JSON.parse(JSON.stringify(first.toJSON())) as TopicTrackerState);
    for (const item of items.slice(800)) restored.add(item);
    expect(restored.toJSON()).toEqual(sketched.toJSON());
  });
});

describe('TopicTracker with a centroid ranker', () => {
  /** A ranker by the book: int8 cosine of every row, best first (ties to the earlier row). */
  const calls: number[] = [];
  const referenceRanker: CentroidRanker = (rows, used, query, dimensions, count) => {
    calls.push(used);
    const scored = Array.from({ length: used }, (_, r) => {
      let dot = 0;
      let nr = 0;
      let nq = 0;
      for (let d = 0; d < dimensions; d++) {
        const a = rows[r * dimensions + d] as number;
        const b = query[d] as number;
        dot += a * b;
        nr += a * a;
        nq += b * b;
      }
      return { r, cos: nr > 0 && nq > 0 ? dot / Math.sqrt(nr * nq) : 0 };
    });
    scored.sort((x, y) => y.cos - x.cos || x.r - y.r);
    return scored.slice(0, count).map((s) => s.r);
  };
  const random = seededRandom(23);
  const subjects = Array.from({ length: 120 }, () => randomDirection(128, random));
  const items: TopicItem[] = Array.from({ length: 900 }, (_, n) => ({
    id: `i${n}`,
    text: `item ${n}`,
    eventTime: T0 + n * 10_000,
    vector: nearDirection(subjects[n % 120] as Float32Array, 0.6, random),
  }));

  it('ranks beyond 32 topics with it and finds what the exact search finds, across a restore', () => {
    const exact = new TopicTracker({ dimensions: 128, approximateAbove: Number.POSITIVE_INFINITY });
    const ranked = new TopicTracker({ dimensions: 128 }, { ranker: referenceRanker });
    const halfway = new TopicTracker({ dimensions: 128 }, { ranker: referenceRanker });
    // The ranker is asked exactly when a tracker holds more than 32 topics.
    let expectedCalls = 0;
    const add = (tracker: TopicTracker, item: TopicItem) => {
      if (tracker.size > 32) expectedCalls++;
      return tracker.add(item);
    };
    for (const item of items.slice(0, 450)) add(halfway, item);
    const restored = TopicTracker.fromJSON(
      JSON.parse(JSON.stringify(halfway.toJSON())) as TopicTrackerState,
      { ranker: referenceRanker },
    );
    const assignments = { exact: [] as unknown[], ranked: [] as unknown[] };
    for (const item of items) {
      assignments.exact.push(exact.add(item));
      assignments.ranked.push(add(ranked, item));
    }
    for (const item of items.slice(450)) add(restored, item);
    expect(ranked.size).toBe(120);
    expect(assignments.ranked).toEqual(assignments.exact);
    expect(ranked.toJSON().topics).toEqual(exact.toJSON().topics);
    expect(restored.toJSON()).toEqual(ranked.toJSON());
    expect(Math.min(...calls)).toBe(33);
    expect(calls.length).toBe(expectedCalls);
  });

  it('keeps every search exact when approximateAbove says so', () => {
    calls.length = 0;
    const exact = new TopicTracker(
      { dimensions: 128, approximateAbove: Number.POSITIVE_INFINITY },
      { ranker: referenceRanker },
    );
    for (const item of items.slice(0, 200)) exact.add(item);
    expect(calls).toEqual([]);
  });
});

describe('TopicTracker scoring (hand-computed)', () => {
  const direction = Float32Array.from({ length: 8 }, (_, i) => (i === 0 ? 1 : 0));
  const other = Float32Array.from({ length: 8 }, (_, i) => (i === 1 ? 1 : 0));
  const at = (window: number, n: number) => T0 + window * 5 * MINUTE + n * 1000;

  it('scores a window against the mean of the windows before it, and a new topic against the floor', () => {
    const tracker = new TopicTracker({ dimensions: 8 });
    // Four 5-minute windows of 2 items each, then 10: baseline 2, z = 8 / √2.
    for (let w = 0; w < 4; w++)
      for (let n = 0; n < 2; n++)
        tracker.add({ id: `a${w}${n}`, text: 'a', eventTime: at(w, n), vector: direction });
    for (let n = 0; n < 10; n++)
      tracker.add({ id: `a4${n}`, text: 'a', eventTime: at(4, n), vector: direction });
    // A topic first seen in window 4 with 6 items: no history, baseline floored at 1, z = 5.
    for (let n = 0; n < 6; n++)
      tracker.add({ id: `b${n}`, text: 'b', eventTime: at(4, 20 + n), vector: other });

    const window = { from: at(4, 0), to: at(5, 0), baselineWindows: 4 };
    const { topics } = tracker.trends(window);
    expect(topics.map((t) => [t.id, t.count, t.baseline])).toEqual([
      ['t1', 10, 2],
      ['t2', 6, 1],
    ]);
    expect(topics[0]?.score).toBeCloseTo(5.656854249, 8);
    expect(topics[0]?.pValue).toBeCloseTo(4.649807501726386e-5, 16);
    expect(topics[1]?.score).toBe(5);
    expect(topics[1]?.pValue).toBeCloseTo(0.000594184817581693, 15);

    // 24 windows asked for, 4 known: the baseline divides by the 4 the tracker has seen.
    expect(tracker.trends({ ...window, baselineWindows: 24 }).topics[0]?.baseline).toBe(2);
    // The floor, the minimum count and the minimum score leave topics out.
    expect(tracker.trends({ ...window, baselineFloor: 4 }).topics.map((t) => t.id)).toEqual(['t1']);
    expect(tracker.trends({ ...window, minCount: 7 }).topics.map((t) => t.id)).toEqual(['t1']);
    expect(tracker.trends({ ...window, minScore: 5.5 }).topics.map((t) => t.id)).toEqual(['t1']);
    expect(tracker.trends({ ...window, limit: 1 }).topics).toHaveLength(1);
  });

  it('refuses windows off the bucket boundaries, and vectors of other lengths', () => {
    const tracker = new TopicTracker({ dimensions: 8 });
    expect(() => tracker.trends({ from: T0 + 1, to: T0 + HOUR })).toThrow(TopicTrackerError);
    expect(() => tracker.trends({ from: T0, to: T0 })).toThrow(TopicTrackerError);
    expect(() => tracker.add({ id: 'x', text: '', eventTime: T0, vector: [1, 0] })).toThrow(
      TopicTrackerError,
    );
    expect(() => tracker.add({ id: 'x', text: '', eventTime: T0, vector: new Float32Array(8) })).toThrow(
      TopicTrackerError,
    );
    expect(() => new TopicTracker({ dimensions: 8, retentionMs: 7 * MINUTE })).toThrow(TopicTrackerError);
    expect(tracker.size).toBe(0);
  });
});

describe('TopicTracker housekeeping', () => {
  const random = seededRandom(3);

  it('prunes buckets older than the retention by event time, and drops items that old', () => {
    const subject = randomDirection(64, random);
    const tracker = new TopicTracker({ dimensions: 64, retentionMs: DAY });
    for (let t = 0; t < 3 * DAY; t += 10 * MINUTE) {
      tracker.add({ id: `i${t}`, text: 'x', eventTime: T0 + t, vector: nearDirection(subject, 0.5, random) });
    }
    const latestBucket = T0 + 3 * DAY - 10 * MINUTE; // the last item's
    const horizon = latestBucket + 5 * MINUTE - DAY;
    const [topic] = tracker.toJSON().topics;
    expect(topic?.buckets.length).toBe(144); // one item every other bucket, over the last day
    expect(topic?.buckets.every(([start]) => start >= horizon && start <= latestBucket)).toBe(true);
    expect(tracker.series('t1', { from: T0, to: T0 + DAY })?.every((n) => n === 0)).toBe(true);
    expect(tracker.trends({ ...everything, from: T0, to: T0 + DAY }).topics).toEqual([]);

    expect(tracker.add({ id: 'old', text: 'x', eventTime: horizon - 1, vector: subject })).toBeNull();
    expect(tracker.add({ id: 'late', text: 'x', eventTime: horizon, vector: subject })?.topicId).toBe('t1');
    // The earliest bucket kept had no item of the replay's (one every other bucket); now it has one.
    expect(tracker.series('t1', { from: horizon, to: horizon + 10 * MINUTE })).toEqual([1, 1]);
  });

  it('holds at most maxTopics, evicting the lightest', () => {
    const heavy = randomDirection(64, random);
    const tracker = new TopicTracker({ dimensions: 64, maxTopics: 10 });
    for (let n = 0; n < 20; n++) {
      tracker.add({
        id: `heavy${n}`,
        text: '',
        eventTime: T0 + n * 1000,
        vector: nearDirection(heavy, 0.5, random),
      });
    }
    for (let n = 0; n < 30; n++) {
      const assignment = tracker.add({
        id: `lone${n}`,
        text: '',
        eventTime: T0 + (20 + n) * 1000,
        vector: randomDirection(64, random),
      });
      expect(assignment?.created).toBe(true);
      expect(tracker.size).toBeLessThanOrEqual(10);
    }
    // The heavy topic and the nine newest lone ones (the older a lone topic, the more it faded).
    expect(tracker.topics().map((t) => t.id)).toEqual([
      't1',
      ...Array.from({ length: 9 }, (_, i) => `t${23 + i}`),
    ]);
  });

  it('removes topics that faded under the floor', () => {
    const dead = randomDirection(64, random);
    const live = randomDirection(64, random);
    const tracker = new TopicTracker({ dimensions: 64, halfLifeMs: HOUR, weightFloor: 0.05 });
    for (let n = 0; n < 10; n++) {
      tracker.add({
        id: `dead${n}`,
        text: '',
        eventTime: T0 + n * MINUTE,
        vector: nearDirection(dead, 0.5, random),
      });
    }
    // 10 items weigh about 10: under 0.05 after log2(200) ≈ 7.6 half-lives of silence.
    const liveAt = (h: number) => {
      for (let t = h * HOUR; t < (h + 1) * HOUR; t += 10 * MINUTE) {
        tracker.add({
          id: `live${t}`,
          text: '',
          eventTime: T0 + t,
          vector: nearDirection(live, 0.5, random),
        });
      }
    };
    for (let h = 0; h < 7; h++) liveAt(h);
    expect(tracker.topics().map((t) => t.id)).toEqual(['t1', 't2']);
    for (let h = 7; h < 12; h++) liveAt(h);
    expect(tracker.topics().map((t) => t.id)).toEqual(['t2']);
    // A late item fading under the floor on arrival starts no topic.
    expect(tracker.add({ id: 'stale', text: '', eventTime: T0, vector: dead })).toBeNull();
  });

  it('merges two topics that one subject started twice', () => {
    const e = (i: number) => Float32Array.from({ length: 16 }, (_, d) => (d === i ? 1 : 0));
    const mix = (a: number, b: number) =>
      Float32Array.from({ length: 16 }, (_, d) => (d === 0 ? a : d === 1 ? b : 0));
    const tracker = new TopicTracker({ dimensions: 16 });
    // Two early items far apart (cosine −0.18) start two topics ...
    expect(tracker.add({ id: 'p', text: '', eventTime: T0, vector: mix(1, 1.2) })?.topicId).toBe('t1');
    expect(tracker.add({ id: 'q', text: '', eventTime: T0 + 1, vector: mix(1, -1.2) })?.topicId).toBe('t2');
    // ... then the subject's items, alternating either side of e0 ever closer to it, pull both
    // centroids onto it until they meet at cosine 0.85.
    const assignments = Array.from({ length: 30 }, (_, n) =>
      tracker.add({
        id: `s${n}`,
        text: '',
        eventTime: T0 + 2 + n,
        vector: mix(1, (n % 2 ? -0.6 : 0.6) * 0.8 ** Math.floor(n / 2)),
      }),
    );
    const merge = assignments.find((a) => a?.merged !== undefined);
    expect(merge).toMatchObject({ topicId: 't1', merged: 't2' });
    expect(tracker.topics()).toMatchObject([{ id: 't1', items: 32 }]);
    expect(tracker.series('t1', { from: T0, to: T0 + 5 * MINUTE })).toEqual([32]);
    expect(tracker.add({ id: 'z', text: '', eventTime: T0 + 40, vector: e(2) })?.created).toBe(true);
  });
});
