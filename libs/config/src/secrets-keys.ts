import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, SECRETS_KEY_FORMAT, type Config } from './config';

/** One AES-256 key and the id stored with what it encrypts. */
export interface SecretsKey {
  readonly id: string;
  readonly key: Buffer;
}

export interface SecretsKeys {
  /** Encrypts; also decrypts. */
  readonly current: SecretsKey;
  /** Decrypt only (SECRETS_ENCRYPTION_RETIRED_KEYS). */
  readonly retired: readonly SecretsKey[];
  /** `SECRETS_ENCRYPTION_KEY`, or the path of the generated key file. */
  readonly source: string;
}

/** Where a generated key is kept, under DATA_DIR (like the embedded PostgreSQL's password). */
export const SECRETS_KEY_FILE = 'secrets-encryption.key';

function parseKey(value: string): SecretsKey {
  const match = SECRETS_KEY_FORMAT.exec(value.trim());
  if (!match) throw new Error('not <id>:<base64 of 32 bytes>');
  return { id: match[1]!, key: Buffer.from(match[2]!, 'base64') };
}

/** The generated key of a one-machine set-up: read, or made once (exclusive create, so processes agree). */
function keyFile(dataDir: string): SecretsKey {
  const file = path.join(dataDir, SECRETS_KEY_FILE);
  const problem = (message: string) =>
    new ConfigError([{ variable: 'SECRETS_ENCRYPTION_KEY', message: `${file}: ${message}` }]);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `local1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw problem((err as Error).message);
  }
  try {
    return parseKey(readFileSync(file, 'utf8'));
  } catch (err) {
    throw problem(
      `${(err as Error).message}. Restore the file (secrets encrypted with it cannot be read without it).`,
    );
  }
}

/**
 * The keys that encrypt stored secrets: SECRETS_ENCRYPTION_KEY (and the retired ones), or, when it is
 * unset outside production, the key generated once into `dataDir/secrets-encryption.key`.
 * Throws a {@link ConfigError} naming the variable when it cannot.
 */
export function resolveSecretsKeys(config: Config, dataDir = path.resolve(config.DATA_DIR)): SecretsKeys {
  let current: SecretsKey;
  let source: string;
  if (config.SECRETS_ENCRYPTION_KEY) {
    current = parseKey(config.SECRETS_ENCRYPTION_KEY);
    source = 'SECRETS_ENCRYPTION_KEY';
  } else if (config.NODE_ENV === 'production') {
    throw new ConfigError([
      {
        variable: 'SECRETS_ENCRYPTION_KEY',
        message:
          'required when NODE_ENV=production: every API replica and `npm run db:migrate` must use the same key ' +
          '(make one with `echo k1:$(openssl rand -base64 32)`)',
      },
    ]);
  } else {
    current = keyFile(dataDir);
    source = path.join(dataDir, SECRETS_KEY_FILE);
  }
  const retired = config.SECRETS_ENCRYPTION_RETIRED_KEYS.map(parseKey);
  const ids = [current.id, ...retired.map((k) => k.id)];
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) {
    throw new ConfigError([
      {
        variable: 'SECRETS_ENCRYPTION_RETIRED_KEYS',
        message: `key id ${repeated} is listed twice; every key needs an id of its own`,
      },
    ]);
  }
  return { current, retired, source };
}
