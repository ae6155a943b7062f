import { nearDirection, randomDirection, seededRandom } from './testing/synthetic-topics';
import { TopicTracker } from './topic-tracker';

export interface TopicBenchOptions {
  /** @defaultValue 512 */
  dimensions?: number;
  /** Topics held while the items are timed (also the tracker's maxTopics). @defaultValue 2000 */
  topics?: number;
  /** Items timed. @defaultValue 2000 */
  items?: number;
  /** @defaultValue 1 */
  seed?: number;
  /** The tracker's `approximateAbove` (`Infinity` times the exact scan). @defaultValue the tracker's, 256 */
  approximateAbove?: number;
}

export interface TopicBenchResult {
  dimensions: number;
  topics: number;
  items: number;
  /** Whether the timed searches ranked topics by sketch first (more topics than `approximateAbove`). */
  approximate: boolean;
  /** Mean wall time of `TopicTracker.add` per timed item, in microseconds. */
  microsPerItem: number;
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
  const { dimensions = 512, topics = 2000, items = 2000, seed = 1, approximateAbove } = options;
  const random = seededRandom(seed);
  const subjects = Array.from({ length: topics }, () => randomDirection(dimensions, random));
  const tracker = new TopicTracker({ dimensions, maxTopics: topics, approximateAbove });
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
  const began = performance.now();
  for (const item of stream.slice(warmup)) {
    if (tracker.add(item)?.created === false) joined++;
  }
  const elapsed = performance.now() - began;
  return {
    dimensions,
    topics: tracker.size,
    items,
    approximate: tracker.size > tracker.options.approximateAbove,
    microsPerItem: (elapsed * 1000) / items,
    joined: joined / items,
  };
}
