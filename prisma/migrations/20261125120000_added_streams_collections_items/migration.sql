
-- CreateEnum
CREATE TYPE "stream_kind" AS ENUM ('text', 'conversation', 'document', 'sensor');

-- CreateEnum
CREATE TYPE "item_status" AS ENUM ('pending', 'queued', 'embedded', 'failed', 'deleted');

-- CreateTable
CREATE TABLE "stream" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "kind" "stream_kind" NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "collection_id" UUID NOT NULL,
    "webhook_secret" VARCHAR(128) NOT NULL,
    "accepted_count" BIGINT NOT NULL DEFAULT 0,
    "embedded_count" BIGINT NOT NULL DEFAULT 0,
    "failed_count" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stream_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "collection" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" VARCHAR(100) NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "dimensions" INTEGER NOT NULL,
    "store_key" VARCHAR(250) NOT NULL,
    "version" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "collection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "item" (
    "stream_id" UUID NOT NULL,
    "id" VARCHAR(256) NOT NULL,
    "tenant_id" UUID NOT NULL,
    "text" TEXT NOT NULL,
    "metadata" JSONB,
    "occurred_at" TIMESTAMPTZ(3),
    "group_id" VARCHAR(256),
    "sequence" INTEGER,
    "status" "item_status" NOT NULL DEFAULT 'pending',
    "model" VARCHAR(100) NOT NULL,
    "vector" BYTEA,
    "error" TEXT,
    "retries" INTEGER NOT NULL DEFAULT 0,
    "accepted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "enqueued_at" TIMESTAMPTZ(3),
    "embedded_at" TIMESTAMPTZ(3),

    CONSTRAINT "item_pkey" PRIMARY KEY ("stream_id","id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stream_tenant_id_name_key" ON "stream"("tenant_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "collection_store_key_key" ON "collection"("store_key");

-- CreateIndex
CREATE UNIQUE INDEX "collection_tenant_id_name_key" ON "collection"("tenant_id", "name");

-- CreateIndex
CREATE INDEX "item_stream_id_status_idx" ON "item"("stream_id", "status");

-- AddForeignKey
ALTER TABLE "stream" ADD CONSTRAINT "stream_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stream" ADD CONSTRAINT "stream_collection_id_fkey" FOREIGN KEY ("collection_id") REFERENCES "collection"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "collection" ADD CONSTRAINT "collection_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "item" ADD CONSTRAINT "item_stream_id_fkey" FOREIGN KEY ("stream_id") REFERENCES "stream"("id") ON DELETE CASCADE ON UPDATE CASCADE;

