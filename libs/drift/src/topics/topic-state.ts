// The tracker's persisted form: plain JSON (centroids as base64 little-endian float32), so a worker
// can keep it wherever it keeps job state and rebuild the tracker after a restart.

/** A representative item as persisted. */
export interface RepresentativeState {
  id: string;
  text: string;
  eventTime: number;
  /** Cosine to the topic's centroid when the item joined it. */
  similarity: number;
  /** The item's position in the feed (ties between equal similarities go to the earlier item). */
  seq: number;
}

/** One topic as persisted. */
export interface TopicState {
  /** The topic's number: its id is `t<seq>`. */
  seq: number;
  /** Its running mean of unit vectors, base64 of little-endian float32. */
  centroid: string;
  /** Faded weight as of `lastSeen`. */
  weight: number;
  firstSeen: number;
  lastSeen: number;
  items: number;
  /** [bucket start (ms), items] in ascending start order. */
  buckets: [number, number][];
  representatives: RepresentativeState[];
}

/** The settings a tracker runs with, all filled in (see `TopicTrackerOptions`). */
export interface TopicTrackerSettings {
  dimensions: number;
  similarityThreshold: number;
  mergeThreshold: number;
  halfLifeMs: number;
  weightFloor: number;
  maxTopics: number;
  bucketMs: number;
  retentionMs: number;
  representativesPerBucket: number;
  representativeBuckets: number;
  maxTextLength: number;
  approximateAbove: number;
}

/** Everything a tracker needs to carry on exactly where it stopped (`TopicTracker.fromJSON`). */
export interface TopicTrackerState {
  version: 1;
  settings: TopicTrackerSettings;
  /** The latest event time fed, or null before the first item. */
  watermark: number | null;
  /** The start of the first bucket ever counted, or null before the first item. */
  historyStart: number | null;
  /** The next topic's number. */
  nextTopicSeq: number;
  /** Items accepted so far. */
  itemSeq: number;
  /** Topics in the tracker's own (row) order. */
  topics: TopicState[];
}

/** Base64 of `values` as little-endian float32. */
export function encodeFloat32(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return Buffer.from(bytes).toString('base64');
}

/** The float32 values of `encoded` (base64, little-endian) into `target`; false if the length differs. */
export function decodeFloat32Into(encoded: string, target: Float32Array): boolean {
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length !== target.length * 4) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < target.length; i++) target[i] = view.getFloat32(i * 4, true);
  return true;
}
