-- Webhook secrets are stored encrypted (AES-256-GCM, `gcm1:<key id>:<base64url>`, longer than a
-- plain secret). The plain-text values earlier versions stored are encrypted by `npm run db:migrate`
-- right after this migration (libs/db encryptStoredSecrets): the key is configuration, out of SQL's reach.
ALTER TABLE "stream" ALTER COLUMN "webhook_secret" TYPE TEXT;

-- A rotated secret stays valid beside the new one until "webhook_secret_previous_until".
ALTER TABLE "stream" ADD COLUMN "webhook_secret_previous" TEXT,
ADD COLUMN "webhook_secret_previous_until" TIMESTAMPTZ(3);
