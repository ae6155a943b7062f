import { gaussian, seededRandom } from './seeded-random';
import { topKeywords } from './topic-keywords';
import { emergenceScore, poissonUpperTail } from './topic-score';
import {
  decodeFloat32Into,
  encodeFloat32,
  RepresentativeState,
  TopicState,
  TopicTrackerSettings,
  TopicTrackerState,
} from './topic-state';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Settings of a {@link TopicTracker}; all but `dimensions` have defaults. */
export interface TopicTrackerOptions {
  /** Length of every vector fed (384 for MiniLM/BGE-small/E5-small, 512 for use-lite). */
  dimensions: number;
  /**
   * An item joins its nearest topic when its cosine to that topic's centroid is at least this;
   * otherwise it starts a topic of its own. See `DEFAULT_SIMILARITY_THRESHOLD` for how the default
   * was chosen (use-lite). @defaultValue 0.55
   */
  similarityThreshold?: number;
  /**
   * Two topics whose centroids come this close (cosine) are one subject that started twice (leader
   * clustering seeds a topic per early item that misses the first centroid); the younger is merged
   * into the older. Distinct subjects' centroids met at 0.67 at most under use-lite. Checked only between the topic an item joined and the runner-up of its scan,
   * so it costs one dot product per item. @defaultValue 0.85
   */
  mergeThreshold?: number;
  /** Event time over which a topic's weight (and its centroid's memory) halves. @defaultValue 6 h */
  halfLifeMs?: number;
  /**
   * A topic whose faded weight drops below this is removed: a lone item after 4.3 half-lives
   * (26 h at the default half-life) of silence, a topic of 100 items after 11 (66 h). @defaultValue 0.05
   */
  weightFloor?: number;
  /**
   * Most topics held; a new topic beyond it evicts the lightest (faded weight, then the oldest).
   * Bounds the cost per item, which grows with the topics held (see the class). @defaultValue 1000
   */
  maxTopics?: number;
  /** Width of the event-time buckets counts are kept in, half-open [start, start + width). @defaultValue 5 min */
  bucketMs?: number;
  /**
   * Event time counts are kept for, back from the latest item's bucket (a multiple of `bucketMs`);
   * items older than that are dropped. Windows and their baselines must fit in it. @defaultValue 7 days (2,016 buckets)
   */
  retentionMs?: number;
  /** Representative items kept per topic per bucket: the ones closest to the centroid. @defaultValue 3 */
  representativesPerBucket?: number;
  /**
   * Buckets back from the latest for which representatives are kept; a trends window further back
   * has counts but no representatives. @defaultValue 24 (2 h of 5-min buckets)
   */
  representativeBuckets?: number;
  /** Representatives' texts are cut to this many characters (code points). @defaultValue 280 */
  maxTextLength?: number;
  /**
   * With more topics than this, the nearest-centroid search first ranks topics by 64-dimension
   * random-projection sketches of their centroids and scores only the best 32 exactly: about a
   * fifth of the exact scan's cost at 2,000 topics of 512 dimensions. Among 1,999 centroids (95
   * use-lite texts and 1,904 random directions) it found the exact nearest for 479 of 480 use-lite
   * queries, and the miss was 0.002 of cosine short. Below it every centroid is scored exactly (the sketches would cost more than
   * they save). `maxTopics` or more (`Infinity`) keeps every search exact. @defaultValue 256
   */
  approximateAbove?: number;
}

/**
 * Cosine to the centroid an item needs to join a topic. Measured on use-lite@1 (512 dimensions)
 * with 96 tweet-like texts, 12 on each of 8 subjects (an earthquake, football, markets, a phone
 * launch, a heatwave, a rail strike, a debate, a film): an item's cosine to the centroid of the
 * other 11 of its subject was 0.57 / 0.72 / 0.82 (5th / 50th / 95th percentile), to the nearest
 * other subject's centroid 0.22 / 0.40 / 0.57, and subject centroids met at 0.67 at most. At 0.55
 * about as many items miss their own subject's topic (5%) as a new subject's items would be taken
 * by an existing topic (7%); 0.6 trades that for 10% and 3%. Fed in shuffled order from an empty
 * tracker (the cold start, where a centroid is still one or two items), 0.55 made 20 topics for
 * the 8 subjects with 0.6 of 96 items in a topic of another subject, 0.6 made 33 topics, 0.5
 * made 12 but misplaced 5.5 items. Cosine scales differ between models: measure and set it per
 * model.
 */
export const DEFAULT_SIMILARITY_THRESHOLD = 0.55;

const DEFAULTS: Omit<TopicTrackerSettings, 'dimensions'> = {
  similarityThreshold: DEFAULT_SIMILARITY_THRESHOLD,
  mergeThreshold: 0.85,
  halfLifeMs: 6 * HOUR,
  weightFloor: 0.05,
  maxTopics: 1000,
  bucketMs: 5 * MINUTE,
  retentionMs: 7 * DAY,
  representativesPerBucket: 3,
  representativeBuckets: 24,
  maxTextLength: 280,
  approximateAbove: 256,
};

/** Dimensions of the centroid sketches the approximate search ranks topics by. */
const SKETCH_DIMENSIONS = 64;
/** Topics the approximate search scores exactly: the best by sketch. */
const SKETCH_CANDIDATES = 32;
/** Seed of the sketches' projection: fixed, so a sketch is a function of its centroid alone. */
const SKETCH_SEED = 0x70c1c5;
/** With a {@link CentroidRanker}, topics ranked first when there are more than this many. */
export const RANKED_ABOVE = 32;
/** Topics the ranked search scores exactly: the ranker's best. */
const RANKED_CANDIDATES = 16;

/**
 * A native nearest-row search the tracker can be given (the worker gives it usearch's SIMD scan,
 * `int8CosineRanker` in libs/vector-store): the indices of the `count` rows of `rows` (each
 * `dimensions` int8 values, `used` rows in use) with the highest cosine to `query`, best first.
 * With one, beyond 32 topics (or `approximateAbove`, if lower) the tracker ranks int8 copies of
 * the centroids (each scaled by its largest magnitude) with it and scores the best 16 exactly:
 * one pass over a quarter of the bytes, in SIMD, instead of the sketches' projections in
 * JavaScript. The choice is the process's, not the state's: a tracker restored with the same
 * ranker (or none) carries on exactly.
 */
export type CentroidRanker = (
  rows: Int8Array,
  used: number,
  query: Int8Array,
  dimensions: number,
  count: number,
) => ArrayLike<number | bigint>;

/** What a tracker is given by the process that runs it (not part of its persisted state). */
export interface TopicTrackerRuntime {
  ranker?: CentroidRanker;
}

/** One item to track: an embedded text and when it happened. */
export interface TopicItem {
  id: string;
  text: string;
  /** When the item happened (ms since the epoch): its bucket, and what fading measures. */
  eventTime: number;
  /** Its embedding (need not be unit length; it is normalised). */
  vector: ArrayLike<number>;
}

/** Where {@link TopicTracker.add} put an item. */
export interface TopicAssignment {
  topicId: string;
  /** The item started this topic. */
  created: boolean;
  /** Its cosine to the topic's centroid before it joined (1 for a topic it started). */
  similarity: number;
  /** A topic that ceased to exist by merging into `topicId` after this item joined. */
  merged?: string;
}

/** A window to find emerging topics in, and how to score them. */
export interface TrendQuery {
  /** Window start (ms, inclusive), on a bucket boundary. */
  from: number;
  /** Window end (ms, exclusive), on a bucket boundary, after `from`. */
  to: number;
  /** Most topics returned. @defaultValue 10 */
  limit?: number;
  /**
   * The baseline is the mean count per window-length over this many window-lengths just before
   * `from` (fewer where the tracker's history or retention is shorter). @defaultValue 24
   */
  baselineWindows?: number;
  /** The least baseline (expected items per window) a topic is scored against: what lets a new topic emerge. @defaultValue 1 */
  baselineFloor?: number;
  /** Topics with fewer items in the window are not returned, whatever their score. @defaultValue 5 */
  minCount?: number;
  /** Topics scoring below this are not returned. @defaultValue 3 */
  minScore?: number;
  /** Representatives per topic. @defaultValue 3 */
  representatives?: number;
  /** Keywords per topic. @defaultValue 5 */
  keywords?: number;
}

export interface TrendRepresentative {
  id: string;
  text: string;
}

export interface TrendingTopic {
  id: string;
  /** The emergence score: (count − baseline) / √baseline (see `emergenceScore`). */
  score: number;
  /** P(at least `count` items | Poisson(`baseline`)): how unlikely the window is if nothing changed. */
  pValue: number;
  /** Items of the topic in the window. */
  count: number;
  /** Expected items in a window of this length (after the floor): what `score` compares against. */
  baseline: number;
  /** Event time of the topic's earliest item. */
  firstSeen: number;
  /** Event time of its latest item. */
  lastSeen: number;
  /** The items of the window closest to the centroid (as they joined), closest first. */
  representatives: TrendRepresentative[];
  /** Words most of the window's kept texts share, most common first. */
  keywords: string[];
}

export interface Trends {
  /** Highest score first (then the larger count, then the older topic). */
  topics: TrendingTopic[];
}

/** A topic as {@link TopicTracker.topics} lists it. */
export interface TopicSummary {
  id: string;
  /** Faded weight at the tracker's watermark. */
  weight: number;
  /** Items that joined it (merged topics' included), unfaded. */
  items: number;
  firstSeen: number;
  lastSeen: number;
}

/** A setting, an item, a window or a persisted state the tracker refuses. */
export class TopicTrackerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopicTrackerError';
  }
}

interface Topic {
  seq: number;
  id: string;
  /** Row of its centroid in the tracker's matrix. */
  row: number;
  /** Norm of the centroid (a mean of unit vectors, so at most 1). */
  norm: number;
  /** Faded weight as of `lastSeen`. */
  weight: number;
  firstSeen: number;
  lastSeen: number;
  items: number;
  /** Bucket starts, ascending, with their counts alongside. */
  starts: number[];
  counts: number[];
  /** At most `representativesPerBucket` per bucket, in no particular order. */
  reps: RepresentativeState[];
  /**
   * Its rows of `sketches` and `quantized` are its centroid's current sketch and int8 copy
   * (refreshed lazily, when a search needs them).
   */
  sketched: boolean;
}

/**
 * Emerging-topic detection over a stream of embedded items, incrementally and in event time.
 *
 * Assignment is leader clustering over faded micro-clusters (DBSTREAM's centres without its
 * shared-density graph): an item joins the topic whose centroid is nearest if its cosine is at
 * least `similarityThreshold`, else starts one. A centroid is the running mean of its items' unit
 * vectors, each weighted 2^(−age / half-life) by event time, so a topic follows its subject as it
 * drifts and forgets it when it falls silent; topics fading under `weightFloor` are removed, and
 * at most `maxTopics` are kept (the lightest evicted), which bounds the cost per item. Up to
 * `approximateAbove` topics the nearest centroid is found by scoring them all, O(topics ×
 * dimensions): about 0.5 µs a topic at 512 dimensions on this repo's 2-core machine, 105–120 µs
 * an item at 200 topics. Beyond it topics are ranked by 64-dimension sketches first and the best
 * 32 scored exactly, O(topics × 64 + 160 × dimensions): 245–390 µs an item at 2,000 topics,
 * against 1.5–1.6 ms for the exact scan. Given a {@link CentroidRanker} (the worker gives usearch's
 * SIMD scan), beyond 32 topics their int8 copies are ranked natively and the best 16 scored
 * exactly: about 55 µs an item at 200 topics, 80 at 500, 140 at 2,000 (`benchmarkTopicTracker`
 * and `npm run bench:watch` measure it). Housekeeping adds O(topics) once per bucket, `trends`
 * O(topics × buckets in the window and its baseline).
 *
 * Counting is per topic in event-time buckets, and every decision depends only on the items fed,
 * their order and their event times, never on the clock: a replay gives the same topics and scores,
 * late items land in their own buckets, and housekeeping (pruning buckets older than `retentionMs`,
 * removing faded topics) runs when the latest event time enters a new bucket. An item from a bucket
 * already pruned is dropped.
 *
 * `trends` scores each topic's count in a window against its own baseline (see `emergenceScore`).
 * `toJSON` / `fromJSON` carry the whole state across a restart; carrying on from a restored state
 * gives exactly what never stopping would have.
 */
export class TopicTracker {
  private readonly settings: Readonly<TopicTrackerSettings>;
  private readonly dims: number;
  /** Centroid rows, `dims` floats each; the first `rows.length` are in use. */
  private matrix: Float32Array;
  private rows: Topic[] = [];
  private readonly byId = new Map<string, Topic>();
  private watermark: number | null = null;
  private historyStart: number | null = null;
  private nextTopicSeq = 1;
  private itemSeq = 0;
  /** Scratch for the item being added, as a unit vector. */
  private readonly unit: Float32Array;
  /** Gaussian projection (SKETCH_DIMENSIONS × dims) for the sketched search; absent when it never runs. */
  private readonly projection: Float32Array | undefined;
  /** Centroid sketches, SKETCH_DIMENSIONS floats per row of `matrix`. */
  private sketches = new Float32Array(0);
  private readonly unitSketch = new Float32Array(SKETCH_DIMENSIONS);
  private readonly candidates: Topic[] = [];
  private readonly candidateScores = new Float64Array(SKETCH_CANDIDATES);
  private readonly ranker: CentroidRanker | undefined;
  /** Int8 copies of the centroid rows for the ranker, `dims` per row of `matrix`. */
  private quantized = new Int8Array(0);
  private readonly unitQuantized: Int8Array;

  constructor(options: TopicTrackerOptions, runtime: TopicTrackerRuntime = {}) {
    const merged = { ...DEFAULTS, ...stripUndefined(options) } as TopicTrackerSettings;
    // Anything from maxTopics up means "always exact"; kept finite so that the state stays JSON.
    if (merged.approximateAbove > merged.maxTopics) merged.approximateAbove = merged.maxTopics;
    this.settings = checkSettings(merged);
    this.dims = this.settings.dimensions;
    this.unit = new Float32Array(this.dims);
    this.matrix = new Float32Array(Math.min(this.settings.maxTopics, 16) * this.dims);
    this.ranker = runtime.ranker;
    this.unitQuantized = new Int8Array(this.ranker ? this.dims : 0);
    if (this.ranker) this.quantized = new Int8Array(this.matrix.length);
    // The sketches serve the approximate search only when no ranker does.
    if (this.ranker === undefined && this.settings.approximateAbove < this.settings.maxTopics) {
      const random = seededRandom(SKETCH_SEED);
      const scale = 1 / Math.sqrt(SKETCH_DIMENSIONS);
      this.projection = Float32Array.from(
        { length: SKETCH_DIMENSIONS * this.dims },
        () => gaussian(random) * scale,
      );
      this.sketches = new Float32Array((this.matrix.length / this.dims) * SKETCH_DIMENSIONS);
    }
  }

  /** The settings in force, defaults filled in. */
  get options(): Readonly<TopicTrackerSettings> {
    return this.settings;
  }

  /** Topics held. */
  get size(): number {
    return this.rows.length;
  }

  /** The latest event time fed so far (undefined before the first item). */
  get latestEventTime(): number | undefined {
    return this.watermark ?? undefined;
  }

  /**
   * Assigns one item to a topic (joining the nearest or starting one) and counts it in its
   * event-time bucket. Returns null for an item too old to count: its bucket was already pruned,
   * or it would start a topic already faded below the floor.
   */
  add(item: TopicItem): TopicAssignment | null {
    const { bucketMs } = this.settings;
    const time = item.eventTime;
    if (!Number.isFinite(time)) {
      throw new TopicTrackerError(`Item ${item.id}: eventTime must be finite, not ${time}`);
    }
    this.loadUnit(item);
    const bucket = Math.floor(time / bucketMs) * bucketMs;
    if (this.watermark === null || bucket > this.bucketOf(this.watermark)) this.advance(time, bucket);
    else if (time > this.watermark) this.watermark = time;
    if (bucket < this.horizon()) return null;

    let best: Topic | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let second: Topic | undefined;
    let secondScore = Number.NEGATIVE_INFINITY;
    const { matrix, unit, dims } = this;
    for (const topic of this.searchCandidates()) {
      const score = dotRow(unit, matrix, topic.row * dims, dims) / topic.norm;
      if (score > bestScore || (score === bestScore && best !== undefined && topic.seq < best.seq)) {
        second = best;
        secondScore = bestScore;
        best = topic;
        bestScore = score;
      } else if (
        score > secondScore ||
        (score === secondScore && second !== undefined && topic.seq < second.seq)
      ) {
        second = topic;
        secondScore = score;
      }
    }

    const seq = this.itemSeq + 1;
    if (best !== undefined && bestScore >= this.settings.similarityThreshold) {
      this.itemSeq = seq;
      this.join(best, time);
      this.count(best, item, time, bucket, bestScore, seq);
      const assignment: TopicAssignment = { topicId: best.id, created: false, similarity: bestScore };
      if (second !== undefined && this.centroidCosine(best, second) >= this.settings.mergeThreshold) {
        const [older, younger] = best.seq < second.seq ? [best, second] : [second, best];
        this.merge(older, younger);
        assignment.topicId = older.id;
        assignment.merged = younger.id;
      }
      return assignment;
    }
    if (this.fade(1, time, this.watermark as number) < this.settings.weightFloor) return null;
    this.itemSeq = seq;
    if (this.rows.length >= this.settings.maxTopics) this.evictLightest();
    const topic = this.createTopic(time);
    this.count(topic, item, time, bucket, 1, seq);
    return { topicId: topic.id, created: true, similarity: 1 };
  }

  /**
   * The topics emerging in [`from`, `to`), highest score first: each topic's count in the window
   * against its baseline, the mean count per window-length over the `baselineWindows` just before
   * it (floored at `baselineFloor`), as `emergenceScore`. Topics under `minCount` items or
   * `minScore` are left out. Cost O(topics × buckets in window and baseline).
   */
  trends(query: TrendQuery): Trends {
    const q = checkQuery(query, this.settings.bucketMs);
    const width = q.to - q.from;
    const baselineFrom = q.from - q.baselineWindows * width;
    // The baseline divides by the part of its period the tracker has counts for: a tracker started
    // an hour ago has no evidence that topics were silent the day before.
    const known =
      this.historyStart === null ? q.from : Math.max(baselineFrom, this.historyStart, this.horizon());
    const knownWindows = Math.max(0, q.from - known) / width;

    const scored: { topic: Topic; count: number; baseline: number; score: number }[] = [];
    for (const topic of this.rows) {
      const count = countIn(topic, q.from, q.to);
      if (count < q.minCount || count === 0) continue;
      const before = knownWindows > 0 ? countIn(topic, known, q.from) / knownWindows : 0;
      const baseline = Math.max(before, q.baselineFloor);
      const score = emergenceScore(count, baseline);
      if (score >= q.minScore) scored.push({ topic, count, baseline, score });
    }
    scored.sort((a, b) => b.score - a.score || b.count - a.count || a.topic.seq - b.topic.seq);
    return {
      topics: scored.slice(0, q.limit).map(({ topic, count, baseline, score }) => {
        const reps = topic.reps
          .filter((r) => r.eventTime >= q.from && r.eventTime < q.to)
          .sort((a, b) => b.similarity - a.similarity || a.seq - b.seq);
        return {
          id: topic.id,
          score,
          pValue: poissonUpperTail(count, baseline),
          count,
          baseline,
          firstSeen: topic.firstSeen,
          lastSeen: topic.lastSeen,
          representatives: reps.slice(0, q.representatives).map(({ id, text }) => ({ id, text })),
          keywords:
            q.keywords > 0
              ? topKeywords(
                  reps.map((r) => r.text),
                  q.keywords,
                )
              : [],
        };
      }),
    };
  }

  /** Items of topic `id` per bucket from `from` to `to` (bucket boundaries), or undefined for no such topic. */
  series(id: string, window: { from: number; to: number }): number[] | undefined {
    const topic = this.byId.get(id);
    if (topic === undefined) return undefined;
    const { bucketMs } = this.settings;
    const { from, to } = checkWindow(window.from, window.to, bucketMs);
    const out = new Array<number>((to - from) / bucketMs).fill(0);
    for (let i = lowerBound(topic.starts, from); i < topic.starts.length; i++) {
      const start = topic.starts[i] as number;
      if (start >= to) break;
      out[(start - from) / bucketMs] = topic.counts[i] as number;
    }
    return out;
  }

  /** The topics held, oldest first. */
  topics(): TopicSummary[] {
    const now = this.watermark ?? 0;
    return [...this.rows]
      .sort((a, b) => a.seq - b.seq)
      .map((t) => ({
        id: t.id,
        weight: this.fade(t.weight, t.lastSeen, now),
        items: t.items,
        firstSeen: t.firstSeen,
        lastSeen: t.lastSeen,
      }));
  }

  /** The whole state, as plain JSON data (see {@link TopicTracker.fromJSON}). */
  toJSON(): TopicTrackerState {
    return {
      version: 1,
      settings: { ...this.settings },
      watermark: this.watermark,
      historyStart: this.historyStart,
      nextTopicSeq: this.nextTopicSeq,
      itemSeq: this.itemSeq,
      topics: this.rows.map((t) => ({
        seq: t.seq,
        centroid: encodeFloat32(this.centroid(t)),
        weight: t.weight,
        firstSeen: t.firstSeen,
        lastSeen: t.lastSeen,
        items: t.items,
        buckets: t.starts.map((start, i) => [start, t.counts[i] as number]),
        representatives: t.reps.map((r) => ({ ...r })),
      })),
    };
  }

  /** A tracker that carries on exactly where the one that wrote `state` stopped. */
  static fromJSON(state: TopicTrackerState, runtime: TopicTrackerRuntime = {}): TopicTracker {
    const version = (state as { version?: unknown } | undefined)?.version;
    if (version !== 1) throw new TopicTrackerError(`Unknown topic tracker state version ${String(version)}`);
    const tracker = new TopicTracker(state.settings, runtime);
    if (state.topics.length > tracker.settings.maxTopics) {
      throw new TopicTrackerError(`State holds ${state.topics.length} topics, more than maxTopics`);
    }
    tracker.watermark = state.watermark;
    tracker.historyStart = state.historyStart;
    tracker.nextTopicSeq = state.nextTopicSeq;
    tracker.itemSeq = state.itemSeq;
    for (const saved of state.topics) tracker.restoreTopic(saved);
    return tracker;
  }

  private restoreTopic(saved: TopicState): void {
    const topic = this.newTopicRow(saved.seq);
    if (!decodeFloat32Into(saved.centroid, this.centroid(topic))) {
      throw new TopicTrackerError(`Topic ${topic.id}: centroid is not ${this.dims} float32 values`);
    }
    topic.norm = this.rowNorm(topic);
    topic.weight = saved.weight;
    topic.firstSeen = saved.firstSeen;
    topic.lastSeen = saved.lastSeen;
    topic.items = saved.items;
    topic.starts = saved.buckets.map(([start]) => start);
    topic.counts = saved.buckets.map(([, n]) => n);
    topic.reps = saved.representatives.map((r) => ({ ...r }));
  }

  /**
   * The topics the nearest-centroid search scores exactly: all of them, or beyond
   * `approximateAbove` the SKETCH_CANDIDATES whose sketches are nearest the item's (ties to the
   * earlier row); with a ranker, beyond min(32, `approximateAbove`) the ranker's best 16.
   */
  private searchCandidates(): readonly Topic[] {
    const { projection, ranker } = this;
    const { approximateAbove, maxTopics } = this.settings;
    if (ranker !== undefined && approximateAbove < maxTopics) {
      if (this.rows.length > Math.min(approximateAbove, RANKED_ABOVE)) return this.rankedCandidates(ranker);
      return this.rows;
    }
    if (projection === undefined || this.rows.length <= approximateAbove) return this.rows;
    project(projection, this.unit, this.unitSketch);
    const { candidates, candidateScores: scores, sketches, unitSketch } = this;
    candidates.length = 0;
    for (const topic of this.rows) {
      if (!topic.sketched) {
        project(projection, this.centroid(topic), sketches.subarray(topic.row * SKETCH_DIMENSIONS));
        topic.sketched = true;
      }
      const score =
        dotRow(unitSketch, sketches, topic.row * SKETCH_DIMENSIONS, SKETCH_DIMENSIONS) / topic.norm;
      const n = candidates.length;
      if (n === SKETCH_CANDIDATES && score <= (scores[n - 1] as number)) continue;
      let i = n === SKETCH_CANDIDATES ? n - 1 : n;
      for (; i > 0 && (scores[i - 1] as number) < score; i--) {
        scores[i] = scores[i - 1] as number;
        candidates[i] = candidates[i - 1] as Topic;
      }
      scores[i] = score;
      candidates[i] = topic;
    }
    return candidates;
  }

  /** The ranker's best RANKED_CANDIDATES topics for the item, int8 copies refreshed first. */
  private rankedCandidates(ranker: CentroidRanker): readonly Topic[] {
    const { dims, matrix, quantized, candidates } = this;
    for (const topic of this.rows) {
      if (topic.sketched) continue;
      quantizeInto(matrix, topic.row * dims, dims, quantized, topic.row * dims);
      topic.sketched = true;
    }
    quantizeInto(this.unit, 0, dims, this.unitQuantized, 0);
    const used = this.rows.length;
    const best = ranker(quantized, used, this.unitQuantized, dims, Math.min(RANKED_CANDIDATES, used));
    candidates.length = 0;
    for (let i = 0; i < best.length; i++) {
      const topic = this.rows[Number(best[i])];
      if (topic !== undefined) candidates.push(topic);
    }
    return candidates;
  }

  /** Normalises the item's vector into `unit`. */
  private loadUnit(item: TopicItem): void {
    const { vector } = item;
    if (vector.length !== this.dims) {
      throw new TopicTrackerError(
        `Item ${item.id}: ${vector.length} dimensions, the tracker has ${this.dims}`,
      );
    }
    let norm2 = 0;
    for (let d = 0; d < this.dims; d++) norm2 += (vector[d] as number) ** 2;
    if (!(norm2 > 0 && Number.isFinite(norm2))) {
      throw new TopicTrackerError(`Item ${item.id}: the vector must be finite and not all zero`);
    }
    const scale = 1 / Math.sqrt(norm2);
    for (let d = 0; d < this.dims; d++) this.unit[d] = (vector[d] as number) * scale;
  }

  private bucketOf(time: number): number {
    return Math.floor(time / this.settings.bucketMs) * this.settings.bucketMs;
  }

  /** Start of the earliest bucket still kept. */
  private horizon(): number {
    if (this.watermark === null) return Number.NEGATIVE_INFINITY;
    return this.bucketOf(this.watermark) + this.settings.bucketMs - this.settings.retentionMs;
  }

  /** `weight` as of `since`, faded to `at` (unchanged if `at` is not later). */
  private fade(weight: number, since: number, at: number): number {
    return at > since ? weight * 2 ** (-(at - since) / this.settings.halfLifeMs) : weight;
  }

  /** The latest event time entered a new bucket: prune old buckets and representatives, drop faded topics. */
  private advance(time: number, bucket: number): void {
    this.watermark = time;
    this.historyStart ??= bucket;
    const { bucketMs, representativeBuckets, weightFloor } = this.settings;
    const horizon = this.horizon();
    const repHorizon = bucket - (representativeBuckets - 1) * bucketMs;
    for (let r = 0; r < this.rows.length;) {
      const topic = this.rows[r] as Topic;
      if (this.fade(topic.weight, topic.lastSeen, time) < weightFloor) {
        this.removeTopic(topic);
        continue; // the last row moved into r
      }
      const keep = lowerBound(topic.starts, horizon);
      if (keep > 0) {
        topic.starts.splice(0, keep);
        topic.counts.splice(0, keep);
      }
      if (topic.reps.some((rep) => rep.eventTime < repHorizon)) {
        topic.reps = topic.reps.filter((rep) => rep.eventTime >= repHorizon);
      }
      r++;
    }
  }

  /** Moves `topic`'s centroid toward `unit` by the item's faded share, and fades the topic's weight. */
  private join(topic: Topic, time: number): void {
    let carried: number;
    let added: number;
    if (time >= topic.lastSeen) {
      carried = this.fade(topic.weight, topic.lastSeen, time);
      added = 1;
      topic.lastSeen = time;
    } else {
      carried = topic.weight;
      added = this.fade(1, time, topic.lastSeen);
    }
    topic.weight = carried + added;
    topic.items++;
    if (time < topic.firstSeen) topic.firstSeen = time;
    const share = added / topic.weight;
    const { matrix, unit, dims } = this;
    const offset = topic.row * dims;
    let norm2 = 0;
    for (let d = 0; d < dims; d++) {
      const m = matrix[offset + d] as number;
      const v = Math.fround(m + share * ((unit[d] as number) - m));
      matrix[offset + d] = v;
      norm2 += v * v;
    }
    topic.norm = Math.sqrt(norm2);
    topic.sketched = false;
  }

  /** Counts the item in its bucket and offers it as a representative. */
  private count(
    topic: Topic,
    item: TopicItem,
    time: number,
    bucket: number,
    similarity: number,
    seq: number,
  ): void {
    const { starts, counts } = topic;
    const last = starts.length - 1;
    if (last >= 0 && starts[last] === bucket) counts[last] = (counts[last] as number) + 1;
    else if (last < 0 || (starts[last] as number) < bucket) {
      starts.push(bucket);
      counts.push(1);
    } else {
      const i = lowerBound(starts, bucket);
      if (starts[i] === bucket) counts[i] = (counts[i] as number) + 1;
      else {
        starts.splice(i, 0, bucket);
        counts.splice(i, 0, 1);
      }
    }

    const { bucketMs, representativeBuckets, representativesPerBucket, maxTextLength } = this.settings;
    if (bucket < this.bucketOf(this.watermark as number) - (representativeBuckets - 1) * bucketMs) return;
    const rep: RepresentativeState = {
      id: item.id,
      text: cut(item.text, maxTextLength),
      eventTime: time,
      similarity,
      seq,
    };
    let held = 0;
    let worst = -1;
    topic.reps.forEach((r, i) => {
      if (this.bucketOf(r.eventTime) !== bucket) return;
      held++;
      if (worst < 0 || ranksBelow(r, topic.reps[worst] as RepresentativeState)) worst = i;
    });
    if (held < representativesPerBucket) topic.reps.push(rep);
    else if (worst >= 0 && ranksBelow(topic.reps[worst] as RepresentativeState, rep)) topic.reps[worst] = rep;
  }

  private centroidCosine(a: Topic, b: Topic): number {
    return dotRow(this.centroid(a), this.matrix, b.row * this.dims, this.dims) / (a.norm * b.norm);
  }

  /** Folds `younger` into `older`: weights faded to a common time, centroids averaged by them, counts summed. */
  private merge(older: Topic, younger: Topic): void {
    const at = Math.max(older.lastSeen, younger.lastSeen);
    const wo = this.fade(older.weight, older.lastSeen, at);
    const wy = this.fade(younger.weight, younger.lastSeen, at);
    const share = wy / (wo + wy);
    const { matrix, dims } = this;
    const o = older.row * dims;
    const y = younger.row * dims;
    let norm2 = 0;
    for (let d = 0; d < dims; d++) {
      const m = matrix[o + d] as number;
      const v = Math.fround(m + share * ((matrix[y + d] as number) - m));
      matrix[o + d] = v;
      norm2 += v * v;
    }
    older.norm = Math.sqrt(norm2);
    older.sketched = false;
    older.weight = wo + wy;
    older.lastSeen = at;
    older.firstSeen = Math.min(older.firstSeen, younger.firstSeen);
    older.items += younger.items;

    const starts: number[] = [];
    const counts: number[] = [];
    for (let i = 0, j = 0; i < older.starts.length || j < younger.starts.length;) {
      const a = i < older.starts.length ? (older.starts[i] as number) : Number.POSITIVE_INFINITY;
      const b = j < younger.starts.length ? (younger.starts[j] as number) : Number.POSITIVE_INFINITY;
      starts.push(Math.min(a, b));
      counts.push(
        (a <= b ? (older.counts[i++] as number) : 0) + (b <= a ? (younger.counts[j++] as number) : 0),
      );
    }
    older.starts = starts;
    older.counts = counts;

    const perBucket = new Map<number, RepresentativeState[]>();
    for (const rep of [...older.reps, ...younger.reps]) {
      const bucket = this.bucketOf(rep.eventTime);
      perBucket.set(bucket, [...(perBucket.get(bucket) ?? []), rep]);
    }
    older.reps = [...perBucket.values()].flatMap((reps) =>
      reps
        .sort((a, b) => b.similarity - a.similarity || a.seq - b.seq)
        .slice(0, this.settings.representativesPerBucket),
    );
    this.removeTopic(younger);
  }

  private evictLightest(): void {
    const now = this.watermark as number;
    let lightest: Topic | undefined;
    let lightestWeight = Number.POSITIVE_INFINITY;
    for (const topic of this.rows) {
      const weight = this.fade(topic.weight, topic.lastSeen, now);
      if (weight < lightestWeight || (weight === lightestWeight && topic.seq < (lightest as Topic).seq)) {
        lightest = topic;
        lightestWeight = weight;
      }
    }
    if (lightest !== undefined) this.removeTopic(lightest);
  }

  private createTopic(time: number): Topic {
    const topic = this.newTopicRow(this.nextTopicSeq++);
    this.centroid(topic).set(this.unit);
    topic.norm = this.rowNorm(topic);
    topic.weight = 1;
    topic.firstSeen = time;
    topic.lastSeen = time;
    topic.items = 1;
    return topic;
  }

  /** A topic with an empty centroid row, registered under its id. */
  private newTopicRow(seq: number): Topic {
    const row = this.rows.length;
    if ((row + 1) * this.dims > this.matrix.length) {
      const rows = Math.min(this.settings.maxTopics, row * 2);
      const grown = new Float32Array(rows * this.dims);
      grown.set(this.matrix);
      this.matrix = grown;
      if (this.projection !== undefined) {
        const sketches = new Float32Array(rows * SKETCH_DIMENSIONS);
        sketches.set(this.sketches);
        this.sketches = sketches;
      }
      if (this.ranker !== undefined) {
        const quantized = new Int8Array(rows * this.dims);
        quantized.set(this.quantized);
        this.quantized = quantized;
      }
    }
    const topic: Topic = {
      seq,
      id: `t${seq}`,
      row,
      norm: 0,
      weight: 0,
      firstSeen: 0,
      lastSeen: 0,
      items: 0,
      starts: [],
      counts: [],
      reps: [],
      sketched: false,
    };
    this.rows.push(topic);
    this.byId.set(topic.id, topic);
    return topic;
  }

  /** Removes `topic`; the last row moves into its place. */
  private removeTopic(topic: Topic): void {
    const last = this.rows.pop() as Topic;
    if (last !== topic) {
      this.matrix.copyWithin(topic.row * this.dims, last.row * this.dims, (last.row + 1) * this.dims);
      if (this.projection !== undefined) {
        const k = SKETCH_DIMENSIONS;
        this.sketches.copyWithin(topic.row * k, last.row * k, (last.row + 1) * k);
      }
      if (this.ranker !== undefined)
        this.quantized.copyWithin(topic.row * this.dims, last.row * this.dims, (last.row + 1) * this.dims);
      last.row = topic.row;
      this.rows[topic.row] = last;
    }
    this.byId.delete(topic.id);
  }

  private centroid(topic: Topic): Float32Array {
    return this.matrix.subarray(topic.row * this.dims, (topic.row + 1) * this.dims);
  }

  private rowNorm(topic: Topic): number {
    const row = this.centroid(topic);
    let norm2 = 0;
    for (let d = 0; d < this.dims; d++) norm2 += (row[d] as number) * (row[d] as number);
    return Math.sqrt(norm2);
  }
}

/** The dot product of `a` with the `length` floats of `matrix` from `offset`, four at a time. */
function dotRow(a: Float32Array, matrix: Float32Array, offset: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 3 < length; d += 4) {
    s0 += (a[d] as number) * (matrix[offset + d] as number);
    s1 += (a[d + 1] as number) * (matrix[offset + d + 1] as number);
    s2 += (a[d + 2] as number) * (matrix[offset + d + 2] as number);
    s3 += (a[d + 3] as number) * (matrix[offset + d + 3] as number);
  }
  for (; d < length; d++) s0 += (a[d] as number) * (matrix[offset + d] as number);
  return s0 + s1 + s2 + s3;
}

/**
 * `length` values of `from` at `offset` as int8 into `to` at `at`, scaled so that the largest
 * magnitude is 127 (cosine does not see the scale; all zeros stay zeros).
 */
function quantizeInto(from: Float32Array, offset: number, length: number, to: Int8Array, at: number): void {
  let max = 0;
  for (let d = 0; d < length; d++) max = Math.max(max, Math.abs(from[offset + d] as number));
  const scale = max > 0 ? 127 / max : 0;
  for (let d = 0; d < length; d++) to[at + d] = Math.round((from[offset + d] as number) * scale);
}

/** `out` = `projection` × `vector` (SKETCH_DIMENSIONS rows of `vector.length`). */
function project(projection: Float32Array, vector: Float32Array, out: Float32Array): void {
  const length = vector.length;
  for (let j = 0; j < SKETCH_DIMENSIONS; j++) out[j] = dotRow(vector, projection, j * length, length);
}

/** First index whose value is at least `value` in ascending `sorted`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Items of `topic` in buckets starting in [from, to). */
function countIn(topic: Topic, from: number, to: number): number {
  let sum = 0;
  for (let i = lowerBound(topic.starts, from); i < topic.starts.length; i++) {
    if ((topic.starts[i] as number) >= to) break;
    sum += topic.counts[i] as number;
  }
  return sum;
}

/** `a` is a worse representative than `b`: less similar, or as similar and fed later. */
function ranksBelow(a: RepresentativeState, b: RepresentativeState): boolean {
  return a.similarity < b.similarity || (a.similarity === b.similarity && a.seq > b.seq);
}

function cut(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  return Array.from(text).slice(0, maxLength).join('');
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkSettings(s: TopicTrackerSettings): Readonly<TopicTrackerSettings> {
  const positiveInteger = (name: keyof TopicTrackerSettings) => {
    if (!Number.isInteger(s[name]) || s[name] < 1) {
      throw new TopicTrackerError(`${name} must be a positive integer, not ${s[name]}`);
    }
  };
  positiveInteger('dimensions');
  positiveInteger('maxTopics');
  positiveInteger('bucketMs');
  positiveInteger('representativesPerBucket');
  positiveInteger('representativeBuckets');
  positiveInteger('maxTextLength');
  for (const name of ['similarityThreshold', 'mergeThreshold'] as const) {
    if (!(s[name] > -1 && s[name] <= 1)) {
      throw new TopicTrackerError(`${name} must be a cosine in (−1, 1], not ${s[name]}`);
    }
  }
  if (!Number.isInteger(s.approximateAbove) || s.approximateAbove < 0) {
    throw new TopicTrackerError(`approximateAbove must be a whole number from 0, not ${s.approximateAbove}`);
  }
  if (!(s.halfLifeMs > 0)) throw new TopicTrackerError(`halfLifeMs must be above 0, not ${s.halfLifeMs}`);
  if (!(s.weightFloor > 0 && s.weightFloor < 1)) {
    throw new TopicTrackerError(`weightFloor must be in (0, 1) (a new topic weighs 1), not ${s.weightFloor}`);
  }
  if (!Number.isInteger(s.retentionMs / s.bucketMs) || s.retentionMs < s.bucketMs) {
    throw new TopicTrackerError(`retentionMs must be a positive multiple of bucketMs, not ${s.retentionMs}`);
  }
  return Object.freeze({ ...s });
}

function checkWindow(from: number, to: number, bucketMs: number): { from: number; to: number } {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from % bucketMs !== 0 || to % bucketMs !== 0) {
    throw new TopicTrackerError(
      `A window's ends must lie on ${bucketMs} ms bucket boundaries: [${from}, ${to})`,
    );
  }
  if (to <= from) throw new TopicTrackerError(`A window must end after it starts: [${from}, ${to})`);
  return { from, to };
}

function checkQuery(query: TrendQuery, bucketMs: number): Required<TrendQuery> {
  checkWindow(query.from, query.to, bucketMs);
  const q: Required<TrendQuery> = {
    limit: 10,
    baselineWindows: 24,
    baselineFloor: 1,
    minCount: 5,
    minScore: 3,
    representatives: 3,
    keywords: 5,
    ...stripUndefined(query),
    from: query.from,
    to: query.to,
  };
  for (const name of ['limit', 'baselineWindows', 'minCount', 'representatives', 'keywords'] as const) {
    if (!Number.isInteger(q[name]) || q[name] < 0) {
      throw new TopicTrackerError(`${name} must be a non-negative integer, not ${q[name]}`);
    }
  }
  if (!(q.baselineFloor > 0)) {
    throw new TopicTrackerError(`baselineFloor must be above 0, not ${q.baselineFloor}`);
  }
  if (Number.isNaN(q.minScore)) throw new TopicTrackerError('minScore must be a number');
  return q;
}
