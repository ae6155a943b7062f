import type { SqlClient } from './sql-client';
import { SecretBox } from './secret-box';

const BATCH = 500;

/** The context a stream's webhook secrets are bound to (AES-GCM additional data). */
export function webhookSecretContext(streamId: string): string {
  return `stream:${streamId}:webhook-secret`;
}

export interface StoredSecretsReport {
  /** Plain-text values of earlier versions, now encrypted. */
  encrypted: number;
  /** Values under a retired key, now under the current one. */
  reencrypted: number;
}

/**
 * Brings every stored webhook secret (current and, during a rotation overlap, previous) under the
 * current key: plain text left by earlier versions is encrypted, ciphertexts of retired keys are
 * re-encrypted. Run by `runMigrations` (`npm run db:migrate`, the launcher) after the schema
 * migrations: AES-GCM under a configured key cannot be done in SQL. Each row is written only if
 * unchanged since it was read, so a rotation running at the same time is never undone.
 */
export async function encryptStoredSecrets(sql: SqlClient, box: SecretBox): Promise<StoredSecretsReport> {
  const report: StoredSecretsReport = { encrypted: 0, reencrypted: 0 };
  const prefix = box.currentPrefix;
  const convert = (value: string, streamId: string): string => {
    const context = webhookSecretContext(streamId);
    if (!SecretBox.isEncrypted(value)) {
      report.encrypted++;
      return box.encrypt(value, context);
    }
    report.reencrypted++;
    return box.encrypt(box.decrypt(value, context), context);
  };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await sql.query<{ id: string; current: string; previous: string | null }>(
      `SELECT id, webhook_secret AS current, webhook_secret_previous AS previous FROM stream
        WHERE id > $1::uuid
          AND (left(webhook_secret, $2) <> $3
               OR (webhook_secret_previous IS NOT NULL AND left(webhook_secret_previous, $2) <> $3))
        ORDER BY id LIMIT ${BATCH}`,
      [after, prefix.length, prefix],
    );
    for (const row of rows) {
      const current = row.current.startsWith(prefix) ? row.current : convert(row.current, row.id);
      const previous =
        row.previous === null || row.previous.startsWith(prefix)
          ? row.previous
          : convert(row.previous, row.id);
      await sql.query(
        `UPDATE stream SET webhook_secret = $2, webhook_secret_previous = $3
          WHERE id = $1::uuid AND webhook_secret = $4 AND webhook_secret_previous IS NOT DISTINCT FROM $5`,
        [row.id, current, previous, row.current, row.previous],
      );
    }
    if (rows.length < BATCH) return report;
    after = rows[rows.length - 1]!.id;
  }
}
