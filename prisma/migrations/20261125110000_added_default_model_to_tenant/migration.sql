-- AlterTable
ALTER TABLE "tenant" ADD COLUMN "default_model" VARCHAR(100) NOT NULL DEFAULT 'use-lite@1';
