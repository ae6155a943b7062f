import { nearDirection, randomDirection, seededRandom } from './testing/synthetic-topics';
import { RANKED_ABOVE, TopicTracker, type CentroidRanker } from './topic-tracker';

export interface TopicBenchOptions {
  /** @defaultValue 512 */
  dimensions?: number;
  /** Topics held while the items are timed (the tracker's maxTopics is the default, 1,000, or this if more). @defaultValue 1000 */
  topics?: number;
  /** Items timed. @defaultValue 2000 */
  items?: number;
  /** @defaultValue 1 */
  seed?: number;
  /** The tracker's `approximateAbove` (`Infinity` times the exact scan). @defaultValue the tracker's, 256 */
  approximateAbove?: number;
  /** The centroid ranker the tracker runs with (none: the sketches in JavaScript). */
  ranker?: CentroidRanker;
}

export interface TopicBenchResult {
  dimensions: number;
  topics: number;
  items: number;
  /** Whether the timed searches ranked topics first (by sketch, or by the ranker), not scanning them all. */
  approximate: boolean;
  /** Mean wall time of `TopicTracker.add` per timed item, in microseconds. */
  microsPerItem: number;
  /** Mean CPU time (this process's) of `TopicTracker.add` per timed item, in microseconds. */
  cpuMicrosPerItem: number;
  /** Share of the timed items that joined an existing topic (the common case; expect 1). */
  joined: number;
}

/**
 * Times `TopicTracker.add` with `topics` topics held: the tracker is first given one item on each
 * of `topics` random subjects, then `items` items near those subjects (cosine ≈ 0.8, each joins
 * its subject's topic) one second of event time apart, the first 10% untimed to warm the JIT. The
 * cost is the nearest-centroid search: O(topics × dimensions) exact, O(topics × 64 + 160 ×
 * dimensions) with sketches. For the repo's bench; no spec asserts a time.
 */
export function benchmarkTopicTracker(options: TopicBenchOptions = {}): TopicBenchResult {
  const { dimensions = 512, topics = 1000, items = 2000, seed = 1, approximateAbove, ranker } = options;
  const random = seededRandom(seed);
  const subjects = Array.from({ length: topics }, () => randomDirection(dimensions, random));
  const tracker = new TopicTracker(
    { dimensions, maxTopics: Math.max(topics, 1000), approximateAbove },
    { ranker },
  );
  const start = 1_700_000_000_000;
  subjects.forEach((vector, i) => tracker.add({ id: `seed${i}`, text: '', eventTime: start + i, vector }));

  const warmup = Math.ceil(items / 10);
  const stream = Array.from({ length: warmup + items }, (_, i) => ({
    id: `item${i}`,
    text: '',
    eventTime: start + topics + i * 1000,
    vector: nearDirection(subjects[Math.floor(random() * topics)] as Float32Array, 0.75, random),
  }));
  for (const item of stream.slice(0, warmup)) tracker.add(item);
  let joined = 0;
  const cpu = process.cpuUsage();
  const began = performance.now();
  for (const item of stream.slice(warmup)) {
    if (tracker.add(item)?.created === false) joined++;
  }
  const elapsed = performance.now() - began;
  const used = process.cpuUsage(cpu);
  return {
    dimensions,
    topics: tracker.size,
    items,
    approximate:
      tracker.options.approximateAbove < tracker.options.maxTopics &&
      tracker.size > Math.min(tracker.options.approximateAbove, ranker ? RANKED_ABOVE : Infinity),
    microsPerItem: (elapsed * 1000) / items,
    cpuMicrosPerItem: (used.user + used.system) / items,
    joined: joined / items,
  };
}
