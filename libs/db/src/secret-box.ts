import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { resolveSecretsKeys, type Config, type SecretsKey, type SecretsKeys } from '@tributary/config';

/** Format tag of a stored ciphertext: `gcm1:<key id>:<base64url(iv ‖ ciphertext ‖ tag)>`. */
const SCHEME = 'gcm1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A stored secret that cannot be read: not encrypted, under a key not configured, or tampered with. */
export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

/**
 * Encrypts secrets kept in PostgreSQL (webhook secrets) with AES-256-GCM under the current
 * SECRETS_ENCRYPTION_KEY, and decrypts under it or any retired key, found by the key id stored with
 * each ciphertext. A context (e.g. the owning row's id) is bound in as additional authenticated data,
 * so a ciphertext copied to another row does not decrypt there.
 */
export class SecretBox {
  private readonly byId: ReadonlyMap<string, Buffer>;
  private readonly current: SecretsKey;

  constructor(keys: Pick<SecretsKeys, 'current' | 'retired'>) {
    this.current = keys.current;
    this.byId = new Map([keys.current, ...keys.retired].map((k) => [k.id, k.key]));
  }

  /** From the configuration (the generated key file when SECRETS_ENCRYPTION_KEY is unset outside production). */
  static fromConfig(config: Config, dataDir?: string): SecretBox {
    return new SecretBox(resolveSecretsKeys(config, dataDir));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  /** What every ciphertext under the current key starts with. */
  get currentPrefix(): string {
    return `${SCHEME}:${this.current.id}:`;
  }

  encrypt(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${this.currentPrefix}${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  decrypt(stored: string, context: string): string {
    const [scheme, keyId, blob, ...rest] = stored.split(':');
    if (scheme !== SCHEME || !keyId || !blob || rest.length > 0) {
      throw new SecretDecryptError('stored secret is not encrypted; run `npm run db:migrate` to encrypt it');
    }
    const key = this.byId.get(keyId);
    if (!key) {
      throw new SecretDecryptError(
        `stored secret is encrypted under key ${keyId}, which is neither SECRETS_ENCRYPTION_KEY nor in SECRETS_ENCRYPTION_RETIRED_KEYS`,
      );
    }
    const raw = Buffer.from(blob, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretDecryptError('stored secret is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretDecryptError(`stored secret does not authenticate under key ${keyId}`);
    }
  }

  /** True when `stored` is a ciphertext (of any key id), false for a plain-text value of earlier versions. */
  static isEncrypted(stored: string): boolean {
    return stored.startsWith(`${SCHEME}:`);
  }
}
