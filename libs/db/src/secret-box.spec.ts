import { SecretBox, SecretDecryptError } from './secret-box';

const key = (id: string, byte: number) => ({ id, key: Buffer.alloc(32, byte) });

describe('SecretBox (AES-256-GCM with key ids)', () => {
  const k1 = new SecretBox({ current: key('k1', 1), retired: [] });
  const k2 = new SecretBox({ current: key('k2', 2), retired: [key('k1', 1)] });

  it('round-trips, with the key id in the clear and a fresh IV each time', () => {
    const a = k1.encrypt('whsec_abc', 'stream:1');
    expect(a).toMatch(/^gcm1:k1:[A-Za-z0-9_-]+$/);
    expect(a).not.toContain('whsec_abc');
    expect(k1.encrypt('whsec_abc', 'stream:1')).not.toBe(a);
    expect(k1.decrypt(a, 'stream:1')).toBe('whsec_abc');
    expect(SecretBox.isEncrypted(a)).toBe(true);
    expect(SecretBox.isEncrypted('whsec_abc')).toBe(false);
  });

  it('decrypts under a retired key and encrypts only under the current one', () => {
    const old = k1.encrypt('s', 'c');
    expect(k2.decrypt(old, 'c')).toBe('s');
    expect(k2.encrypt('s', 'c').startsWith('gcm1:k2:')).toBe(true);
    expect(() => k1.decrypt(k2.encrypt('s', 'c'), 'c')).toThrow(/under key k2, which is neither/);
  });

  it('refuses a ciphertext moved to another context, tampered with, or not encrypted', () => {
    const sealed = k1.encrypt('whsec_abc', 'stream:1');
    expect(() => k1.decrypt(sealed, 'stream:2')).toThrow(SecretDecryptError);
    const blob = sealed.slice('gcm1:k1:'.length);
    const flipped = Buffer.from(blob, 'base64url');
    flipped[14] = flipped[14]! ^ 1;
    expect(() => k1.decrypt(`gcm1:k1:${flipped.toString('base64url')}`, 'stream:1')).toThrow(
      /does not authenticate/,
    );
    expect(() => k1.decrypt('whsec_abc', 'stream:1')).toThrow(/not encrypted; run `npm run db:migrate`/);
  });
});
