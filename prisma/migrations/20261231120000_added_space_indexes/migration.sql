-- Search spaces a stream kind derives from the vectors of its items (the context vectors of a
-- conversation, the vector of a document): one index per (collection version, space), live while
-- its version is, with the version of its points as a collection version has (an embedded index
-- that saved another is rebuilt from derived_vector).
CREATE TABLE "space_index" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "version_id" UUID NOT NULL,
    -- `context` (conversations) or `documents`.
    "space" VARCHAR(20) NOT NULL,
    "store_key" VARCHAR(250) NOT NULL,
    "dimensions" INTEGER NOT NULL,
    "version" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "space_index_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "space_index_store_key_key" ON "space_index"("store_key");
CREATE UNIQUE INDEX "space_index_version_id_space_key" ON "space_index"("version_id", "space");
ALTER TABLE "space_index" ADD CONSTRAINT "space_index_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "collection_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A derived vector: computed from stored item vectors by one version (never re-embedded), keyed by
-- what it stands for in its space (a message id for context vectors, a document id for documents).
CREATE TABLE "derived_vector" (
    "space_id" UUID NOT NULL,
    "stream_id" UUID NOT NULL,
    "key" VARCHAR(256) NOT NULL,
    -- The conversation or document it belongs to.
    "group_id" VARCHAR(256) NOT NULL,
    -- float32 little-endian.
    "vector" BYTEA NOT NULL,
    -- The item vectors it was computed from (messages in the window, sentences of the document).
    "members" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "derived_vector_pkey" PRIMARY KEY ("space_id", "stream_id", "key")
);
CREATE INDEX "derived_vector_stream_id_group_id_idx" ON "derived_vector"("stream_id", "group_id");
-- Kept in the row up to a page (about 2 KB at 512 dimensions): derived vectors are read and
-- rewritten by key, and moving each to a TOAST table would double its writes and reads. Larger
-- ones go out of line, never compressed (floats do not compress).
ALTER TABLE "derived_vector" SET (toast_tuple_target = 8160);
ALTER TABLE "derived_vector" ALTER COLUMN "vector" SET STORAGE EXTERNAL;
ALTER TABLE "derived_vector" ADD CONSTRAINT "derived_vector_space_id_fkey" FOREIGN KEY ("space_id") REFERENCES "space_index"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "derived_vector" ADD CONSTRAINT "derived_vector_stream_id_fkey" FOREIGN KEY ("stream_id") REFERENCES "stream"("id") ON DELETE CASCADE ON UPDATE CASCADE;
