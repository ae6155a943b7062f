-- Event time: the item's own timestamp when the client sent one, else when it was accepted. Every
-- quality-watch window is over it, so replaying history at full speed gives what living through it did.
ALTER TABLE "item" ADD COLUMN "event_at" TIMESTAMPTZ(3) GENERATED ALWAYS AS (COALESCE("occurred_at", "accepted_at")) STORED;
CREATE INDEX "item_stream_id_event_at_idx" ON "item"("stream_id", "event_at");

-- A pinned reference window for a collection's drift reports (else the previous window of the same length).
ALTER TABLE "collection" ADD COLUMN "drift_baseline_from" TIMESTAMPTZ(3);
ALTER TABLE "collection" ADD COLUMN "drift_baseline_to" TIMESTAMPTZ(3);
-- The method whose verdict is a report's (the domain classifier unless the tenant picks another).
ALTER TABLE "collection" ADD COLUMN "drift_verdict_method" VARCHAR(20) NOT NULL DEFAULT 'model';

CREATE TYPE "report_state" AS ENUM ('running', 'done', 'failed');

-- One drift report: a current window compared with a reference window, by the collection's
-- serving version when it ran.
CREATE TABLE "drift_report" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "collection_id" UUID NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    -- `scheduled` (the scheduler's fan-out) or `on_demand` (the API).
    "trigger" VARCHAR(20) NOT NULL,
    "state" "report_state" NOT NULL DEFAULT 'running',
    "reference_from" TIMESTAMPTZ(3) NOT NULL,
    "reference_to" TIMESTAMPTZ(3) NOT NULL,
    "current_from" TIMESTAMPTZ(3) NOT NULL,
    "current_to" TIMESTAMPTZ(3) NOT NULL,
    "reference_n" INTEGER,
    "current_n" INTEGER,
    "sample_size" INTEGER NOT NULL,
    "seed" VARCHAR(100) NOT NULL,
    "methods" TEXT[] NOT NULL,
    "verdict_method" VARCHAR(20) NOT NULL,
    "results" JSONB,
    "drifted" BOOLEAN,
    -- Why there is no verdict (too few items in a window), or why the report failed.
    "note" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "drift_report_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "drift_report_collection_id_created_at_idx" ON "drift_report"("collection_id", "created_at");
-- A scheduled window is reported once, however often the fan-out runs.
CREATE UNIQUE INDEX "drift_report_scheduled_window_key" ON "drift_report"("collection_id", "current_from", "current_to") WHERE "trigger" = 'scheduled';
ALTER TABLE "drift_report" ADD CONSTRAINT "drift_report_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "drift_report" ADD CONSTRAINT "drift_report_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- One pipeline self-check: stored inputs re-embedded by the collection's serving version, compared
-- with their stored vectors.
CREATE TABLE "self_check_report" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "collection_id" UUID NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "sampled" INTEGER NOT NULL,
    "min_cosine" DOUBLE PRECISION,
    "mean_cosine" DOUBLE PRECISION,
    "threshold" DOUBLE PRECISION NOT NULL,
    "below_share" DOUBLE PRECISION,
    "passed" BOOLEAN NOT NULL,
    -- The worst inputs: [{ "streamId", "itemId", "cosine" }], lowest first.
    "worst" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "self_check_report_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "self_check_report_collection_id_created_at_idx" ON "self_check_report"("collection_id", "created_at");
ALTER TABLE "self_check_report" ADD CONSTRAINT "self_check_report_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "self_check_report" ADD CONSTRAINT "self_check_report_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A collection's emerging-topic tracker per model version (topics live in that model's vector
-- space): its serialised state and how far, in event time, it has read the collection's items.
CREATE TABLE "topic_state" (
    "collection_id" UUID NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "tenant_id" UUID NOT NULL,
    "state" BYTEA NOT NULL,
    -- Keyset cursor over (event_at, stream_id, item id): items up to it have been fed to the tracker.
    "cursor_event_at" TIMESTAMPTZ(3),
    "cursor_stream" UUID,
    "cursor_item" VARCHAR(256),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "topic_state_pkey" PRIMARY KEY ("collection_id", "model")
);
ALTER TABLE "topic_state" ADD CONSTRAINT "topic_state_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "topic_state" ADD CONSTRAINT "topic_state_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
