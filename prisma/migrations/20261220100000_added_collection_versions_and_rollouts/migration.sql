-- A collection keeps its name while the model versions it is embedded with change: each version is
-- its own physical index (store key) with its own points' version counter. The collection row's
-- store_key, model and dimensions are the pointer to the serving version (cutover changes them in
-- one statement), and its version counter moves to the versions.
CREATE TABLE "collection_version" (
    "id" UUID NOT NULL,
    "collection_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "dimensions" INTEGER NOT NULL,
    "store_key" VARCHAR(250) NOT NULL,
    "version" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(3),
    CONSTRAINT "collection_version_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "collection_version_store_key_key" ON "collection_version"("store_key");
CREATE INDEX "collection_version_collection_id_idx" ON "collection_version"("collection_id");
-- One live version per model in a collection (a retired one may be embedded again later).
CREATE UNIQUE INDEX "collection_version_live_model_key" ON "collection_version"("collection_id", "model") WHERE "retired_at" IS NULL;
ALTER TABLE "collection_version" ADD CONSTRAINT "collection_version_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

INSERT INTO "collection_version" ("id", "collection_id", "tenant_id", "model", "dimensions", "store_key", "version", "created_at")
SELECT gen_random_uuid(), "id", "tenant_id", "model", "dimensions", "store_key", "version", "created_at" FROM "collection";

ALTER TABLE "collection" DROP COLUMN "version";

-- Vectors of an item by versions other than the one its own row holds (item.vector is by item.model):
-- a rollout's backfill and dual-writes, and the version a promotion retains.
CREATE TABLE "item_vector" (
    "version_id" UUID NOT NULL,
    "stream_id" UUID NOT NULL,
    "item_id" VARCHAR(256) NOT NULL,
    "vector" BYTEA NOT NULL,
    CONSTRAINT "item_vector_pkey" PRIMARY KEY ("version_id", "stream_id", "item_id")
);
ALTER TABLE "item_vector" ALTER COLUMN "vector" SET STORAGE EXTERNAL;
CREATE INDEX "item_vector_stream_id_item_id_idx" ON "item_vector"("stream_id", "item_id");
ALTER TABLE "item_vector" ADD CONSTRAINT "item_vector_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "collection_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "item_vector" ADD CONSTRAINT "item_vector_stream_id_item_id_fkey" FOREIGN KEY ("stream_id", "item_id") REFERENCES "item"("stream_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TYPE "rollout_state" AS ENUM ('backfilling', 'ready', 'canary', 'shadow', 'promoted', 'rolled_back', 'failed');
CREATE TYPE "rollout_mode" AS ENUM ('canary', 'shadow');

CREATE TABLE "rollout" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "collection_id" UUID NOT NULL,
    "from_version_id" UUID NOT NULL,
    "to_version_id" UUID NOT NULL,
    "from_model" VARCHAR(100) NOT NULL,
    "to_model" VARCHAR(100) NOT NULL,
    "state" "rollout_state" NOT NULL DEFAULT 'backfilling',
    "mode" "rollout_mode" NOT NULL DEFAULT 'canary',
    "traffic_percent" INTEGER NOT NULL DEFAULT 0,
    "auto_rollback_below_overlap" DOUBLE PRECISION,
    "fleet_id" UUID,
    "backfill_total" INTEGER NOT NULL DEFAULT 0,
    "backfill_done" INTEGER NOT NULL DEFAULT 0,
    -- scan: every stored input in key order, then catchup: those still without a candidate vector.
    "backfill_phase" VARCHAR(10) NOT NULL DEFAULT 'scan',
    "backfill_cursor_stream" UUID,
    "backfill_cursor_item" VARCHAR(256),
    "backfill_started_at" TIMESTAMPTZ(3),
    "backfill_finished_at" TIMESTAMPTZ(3),
    "comparison" JSONB,
    "failure_reason" TEXT,
    "created_by" VARCHAR(120) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "promoted_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "retain_until" TIMESTAMPTZ(3),
    CONSTRAINT "rollout_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "rollout_collection_id_created_at_idx" ON "rollout"("collection_id", "created_at");
CREATE INDEX "rollout_fleet_id_idx" ON "rollout"("fleet_id");
-- One active rollout per collection.
CREATE UNIQUE INDEX "rollout_one_active_key" ON "rollout"("collection_id") WHERE "state" IN ('backfilling', 'ready', 'canary', 'shadow');
ALTER TABLE "rollout" ADD CONSTRAINT "rollout_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "rollout" ADD CONSTRAINT "rollout_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "rollout" ADD CONSTRAINT "rollout_from_version_id_fkey" FOREIGN KEY ("from_version_id") REFERENCES "collection_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "rollout" ADD CONSTRAINT "rollout_to_version_id_fkey" FOREIGN KEY ("to_version_id") REFERENCES "collection_version"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Control-plane changes: who (admin or a tenant key), what, when.
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" VARCHAR(120) NOT NULL,
    "tenant_id" UUID,
    "action" VARCHAR(60) NOT NULL,
    "target" VARCHAR(300) NOT NULL,
    "details" JSONB,
    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_event_at_idx" ON "audit_event"("at");
