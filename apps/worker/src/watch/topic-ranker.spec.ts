import { TopicTracker } from '@tributary/drift';
import { randomVectors } from '@tributary/vector-store';
import { decodeTopicState, encodeTopicState, newTopicTracker } from './topics-update.handler';

/**
 * The worker's trackers rank centroids with usearch's int8 scan (int8CosineRanker): over a stream
 * of items around 400 subjects of 512 dimensions they must find the topics the exact scan finds,
 * and carry on alike through the stored state.
 */
describe('the worker’s topic tracker (usearch-ranked centroids)', () => {
  it('assigns every item as the exact search does, across a save and restore', () => {
    const dims = 512;
    const subjects = randomVectors(400, dims, 3);
    const noise = randomVectors(2000, dims, 4);
    const items = noise.map((n, i) => ({
      id: `i${i}`,
      text: `item ${i}`,
      eventTime: Date.UTC(2026, 10, 1) + i * 5_000,
      // Cosine about 0.9 to its subject, 0.8 to another of its items: each subject's items join one topic.
      vector: Float32Array.from(subjects[i % 400]!, (x, d) => x + 0.5 * n[d]!),
    }));
    const exact = new TopicTracker({ dimensions: dims, approximateAbove: Number.POSITIVE_INFINITY });
    const ranked = newTopicTracker(dims);
    let resumed = newTopicTracker(dims);
    const got = { exact: [] as unknown[], ranked: [] as unknown[] };
    items.forEach((item, i) => {
      got.exact.push(exact.add(item));
      got.ranked.push(ranked.add(item));
      resumed.add(item);
      if (i === 1000) resumed = decodeTopicState(encodeTopicState(resumed));
    });
    expect(ranked.size).toBe(400);
    expect(got.ranked).toEqual(got.exact);
    expect(ranked.toJSON().topics).toEqual(exact.toJSON().topics);
    expect(resumed.toJSON()).toEqual(ranked.toJSON());
  });
});
