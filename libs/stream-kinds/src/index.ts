// The numerics of the stateful stream kinds: what a conversation message, a document or a sensor
// reading is embedded as, beyond the text model's vector. Pure computation on Float32Array: no
// database, queue or clock; the caller loads and stores whatever state a kind keeps.

export { StreamKindInputError } from './vectors';
export type { VectorLike } from './vectors';

// Conversations: a message is searched by the decayed direction of the messages around it.
export {
  DEFAULT_CONTEXT_WINDOW,
  affectedPositions,
  contextVector,
  contextVectors,
} from './conversation/context-vector';
export type { ConversationChange } from './conversation/context-vector';

// Documents: sentences pooled by softmax attention against the document's gist.
export { DocumentPool, attentionPool, attentionWeights } from './document/attention-pooling';
export type { DocumentPoolState } from './document/attention-pooling';

// Sensors: a reading as scaled values plus its place in the local day, week and year
// (layout sensor-encoder@1), and an anomaly score over the stream's recent readings.
export { ChannelStats, DEFAULT_CLIP } from './sensor/channel-stats';
export type { ChannelStatsState, ChannelSummary } from './sensor/channel-stats';
export {
  DEFAULT_SENSOR_SETTINGS,
  SENSOR_ENCODER_LAYOUT,
  elapsedPeriodsMs,
  encodeReading,
  sensorDimensions,
  sensorSlots,
} from './sensor/sensor-encoder';
export type {
  SensorReading,
  SensorSettings,
  SensorSlots,
  SensorStreamState,
  SensorWeights,
} from './sensor/sensor-encoder';
export { localTime } from './sensor/local-time';
export type { LocalTime } from './sensor/local-time';
export { DEFAULT_ANOMALY_K, kthNeighbourDistance } from './sensor/anomaly';
