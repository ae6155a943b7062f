-- Items whose vector is written but not yet counted embedded (their worker stopped before indexing
-- them) are work the orphan sweep sends again. This index finds them without reading every embedded
-- item of a stream, and holds only items in flight: counting stamps embedded_at and drops them.
-- Partial, so not expressible in schema.prisma, which names it in a comment.
CREATE INDEX "item_written_uncounted_idx" ON "item" ("stream_id", "id") WHERE "status" = 'embedded' AND "embedded_at" IS NULL;
