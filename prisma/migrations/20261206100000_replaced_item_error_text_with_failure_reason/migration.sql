-- A failed item keeps a stable reason code, never the error text of the failure (a worker's
-- transient errors named addresses and internals, and /failures showed them to the tenant). The
-- detail is in the worker's log. Existing texts become the code of what produced them.
ALTER TABLE "item" RENAME COLUMN "error" TO "failure_reason";
UPDATE "item" SET "failure_reason" = CASE
    WHEN "failure_reason" LIKE 'text is empty after normalisation%' THEN 'empty_text'
    WHEN "failure_reason" LIKE 'cannot tokenize%' THEN 'untokenizable'
    WHEN "failure_reason" LIKE 'collection % no longer exists' THEN 'collection_missing'
    ELSE 'attempts_exhausted'
  END
  WHERE "failure_reason" IS NOT NULL;
ALTER TABLE "item" ALTER COLUMN "failure_reason" TYPE VARCHAR(40);
