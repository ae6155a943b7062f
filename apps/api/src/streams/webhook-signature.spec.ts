import { createHmac } from 'node:crypto';
import { newWebhookSecret, signWebhook, verifyWebhook } from './webhook-signature';

describe('webhook signatures (HMAC-SHA256 over timestamp + body)', () => {
  const secret = 'whsec_test-secret';
  const body = '{"items":[{"id":"1","text":"hi"}]}';
  const now = 1_764_000_000;

  it('signs as documented: hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body}`).digest('hex');
    expect(signWebhook(secret, now, body)).toBe(`v1=${expected}`);
  });

  it('accepts a fresh, correct signature', () => {
    const signature = signWebhook(secret, now, body);
    expect(verifyWebhook(secret, { timestamp: String(now), signature }, body, now + 10, 300)).toEqual({
      ok: true,
    });
  });

  it('refuses a changed body, another secret, or another timestamp', () => {
    const signature = signWebhook(secret, now, body);
    expect(verifyWebhook(secret, { timestamp: String(now), signature }, `${body} `, now, 300)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyWebhook('whsec_other', { timestamp: String(now), signature }, body, now, 300).ok).toBe(
      false,
    );
    expect(verifyWebhook(secret, { timestamp: String(now + 1), signature }, body, now, 300).ok).toBe(false);
  });

  it('refuses timestamps outside the replay window, either way', () => {
    const old = now - 301;
    expect(
      verifyWebhook(
        secret,
        { timestamp: String(old), signature: signWebhook(secret, old, body) },
        body,
        now,
        300,
      ),
    ).toEqual({ ok: false, reason: 'stale' });
    const future = now + 301;
    expect(
      verifyWebhook(
        secret,
        { timestamp: String(future), signature: signWebhook(secret, future, body) },
        body,
        now,
        300,
      ).ok,
    ).toBe(false);
    const edge = now - 300;
    expect(
      verifyWebhook(
        secret,
        { timestamp: String(edge), signature: signWebhook(secret, edge, body) },
        body,
        now,
        300,
      ).ok,
    ).toBe(true);
  });

  it('says what is wrong with missing or malformed headers', () => {
    const reason = (check: ReturnType<typeof verifyWebhook>) => (check.ok ? 'ok' : check.reason);
    expect(reason(verifyWebhook(secret, { timestamp: undefined, signature: 'v1=00' }, body, now, 300))).toBe(
      'missing',
    );
    expect(
      reason(verifyWebhook(secret, { timestamp: 'yesterday', signature: 'v1=00' }, body, now, 300)),
    ).toBe('malformed');
    expect(
      reason(verifyWebhook(secret, { timestamp: String(now), signature: 'sha256=abc' }, body, now, 300)),
    ).toBe('malformed');
  });

  it('accepts any one of several v1 signatures (secret rotation)', () => {
    const good = signWebhook(secret, now, body);
    const other = signWebhook('whsec_old', now, body);
    expect(
      verifyWebhook(secret, { timestamp: String(now), signature: `${other}, ${good}` }, body, now, 300).ok,
    ).toBe(true);
  });

  it('makes unguessable secrets', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(newWebhookSecret()).not.toBe(a);
  });

  it('accepts a signature by either secret while a rotation overlaps, and by no other', () => {
    const fresh = 'whsec_new';
    const both = [fresh, secret];
    for (const key of both) {
      const signature = signWebhook(key, now, body);
      expect(verifyWebhook(both, { timestamp: String(now), signature }, body, now, 300).ok).toBe(true);
    }
    const stranger = signWebhook('whsec_other', now, body);
    expect(verifyWebhook(both, { timestamp: String(now), signature: stranger }, body, now, 300)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });
});
