import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from './config';
import { resolveSecretsKeys, SECRETS_KEY_FILE } from './secrets-keys';

describe('secrets encryption keys', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'secrets-keys-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const k = (id: string, byte: number) => `${id}:${Buffer.alloc(32, byte).toString('base64')}`;

  it('reads the configured key and the retired ones, with their ids', () => {
    const keys = resolveSecretsKeys(
      loadConfig({
        SECRETS_ENCRYPTION_KEY: k('k2', 2),
        SECRETS_ENCRYPTION_RETIRED_KEYS: `${k('k1', 1)}, ${k('k0', 0)}`,
      }),
      dir,
    );
    expect(keys.current.id).toBe('k2');
    expect(keys.current.key).toEqual(Buffer.alloc(32, 2));
    expect(keys.retired.map((r) => r.id)).toEqual(['k1', 'k0']);
    expect(keys.source).toBe('SECRETS_ENCRYPTION_KEY');
  });

  it('refuses keys that are not 32 bytes, malformed ids, and an id used twice', () => {
    expect(() => loadConfig({ SECRETS_ENCRYPTION_KEY: `k1:${Buffer.alloc(16).toString('base64')}` })).toThrow(
      /SECRETS_ENCRYPTION_KEY: expected <id>:<base64 of 32 bytes>/,
    );
    expect(() => loadConfig({ SECRETS_ENCRYPTION_KEY: k('k 1', 1) })).toThrow(ConfigError);
    expect(() => loadConfig({ SECRETS_ENCRYPTION_RETIRED_KEYS: 'k1:short' })).toThrow(
      /SECRETS_ENCRYPTION_RETIRED_KEYS/,
    );
    expect(() =>
      resolveSecretsKeys(
        loadConfig({ SECRETS_ENCRYPTION_KEY: k('k1', 1), SECRETS_ENCRYPTION_RETIRED_KEYS: k('k1', 2) }),
        dir,
      ),
    ).toThrow(/k1 is listed twice/);
  });

  it('unset, generates one key under DATA_DIR (mode 600) and keeps using it', () => {
    const first = resolveSecretsKeys(loadConfig({}), dir);
    const file = path.join(dir, SECRETS_KEY_FILE);
    expect(first.source).toBe(file);
    expect(first.current.key).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = resolveSecretsKeys(loadConfig({}), dir);
    expect(again.current.id).toBe(first.current.id);
    expect(again.current.key.equals(first.current.key)).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain(first.current.key.toString('base64'));
  });

  it('unset in production, refuses to start rather than give each replica a key of its own', () => {
    expect(() => resolveSecretsKeys(loadConfig({ NODE_ENV: 'production' }), dir)).toThrow(
      /SECRETS_ENCRYPTION_KEY: required when NODE_ENV=production/,
    );
  });
});
