import { bearerToken, generateSecret, hashSecret, sameHash, secretPrefix } from './api-key-secret';

describe('API key secrets', () => {
  it('generates tenant and admin keys with 256 bits of base64url entropy', () => {
    const tenant = generateSecret('tenant');
    const admin = generateSecret('admin');
    expect(tenant).toMatch(/^trb_[A-Za-z0-9_-]{43}$/);
    expect(admin).toMatch(/^trb_admin_[A-Za-z0-9_-]{43}$/);
    const many = new Set(Array.from({ length: 1000 }, () => generateSecret('tenant')));
    expect(many.size).toBe(1000);
  });

  it('hashes with SHA-256 (hex)', () => {
    // sha256("abc"), the FIPS 180-2 test vector.
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('shows a recognisable prefix only', () => {
    expect(secretPrefix('trb_ABCDEFGH12345678')).toBe('trb_ABCDEFGH');
    expect(secretPrefix('trb_admin_ABCDEFGH123')).toBe('trb_admin_ABCDEF');
  });

  it('compares hashes exactly', () => {
    const a = hashSecret('one');
    expect(sameHash(a, hashSecret('one'))).toBe(true);
    expect(sameHash(a, hashSecret('two'))).toBe(false);
    expect(sameHash(a, 'abcd')).toBe(false);
  });

  it('reads bearer tokens and nothing else', () => {
    expect(bearerToken('Bearer trb_x')).toBe('trb_x');
    expect(bearerToken('bearer   trb_x  ')).toBe('trb_x');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken(['Bearer a', 'Bearer b'])).toBeUndefined();
  });
});
