-- The job that carries each queued item: the orphan sweep checks that job by its id in Redis.
ALTER TABLE "item" ADD COLUMN "job_id" VARCHAR(200);
