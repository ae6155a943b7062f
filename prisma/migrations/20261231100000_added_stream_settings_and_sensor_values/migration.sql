-- The settings of the stream kind that its creator set (conversation contextWindow and decay,
-- document temperature, sensor timeZone). streamSettings in libs/contracts fills in the defaults of
-- the rest, so streams created before keep the defaults.
ALTER TABLE "stream" ADD COLUMN "settings" JSONB NOT NULL DEFAULT '{}';

-- The reading of a sensor item: {"<channel>": number}.
ALTER TABLE "item" ADD COLUMN "sensor_values" JSONB;

-- The items of a conversation or document in order: ingest numbers the messages of a conversation
-- sent without a sequence after the highest of the group, and the worker reads a group in order.
-- Partial (text and sensor items have no group), so not expressible in schema.prisma, which names
-- it in a comment.
CREATE INDEX "item_stream_id_group_id_sequence_idx" ON "item" ("stream_id", "group_id", "sequence") WHERE "group_id" IS NOT NULL;
