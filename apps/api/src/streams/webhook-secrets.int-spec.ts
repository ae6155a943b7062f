import { randomBytes } from 'node:crypto';
import { PrismaService, runMigrations, SecretBox } from '@tributary/db';
import { createTenantWithKey, startApi, TEST_SECRETS_KEY, type ApiHarness } from '../testing/api-harness';
import { signWebhook } from './webhook-signature';

const newKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

async function createStream(api: ApiHarness, key: string, name: string) {
  const res = await api.request({ method: 'POST', url: '/v1/streams', key, body: { name, kind: 'text' } });
  if (res.status !== 201) throw new Error(`stream creation failed: ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, secret: res.body.webhook.secret as string };
}

/** Sends a webhook signed with `secret` (a fresh timestamp unless one is given). */
function hook(
  api: ApiHarness,
  streamId: string,
  secret: string,
  options: { timestamp?: number; payload?: string } = {},
) {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const payload =
    options.payload ??
    JSON.stringify({ items: [{ id: `i-${randomBytes(6).toString('hex')}`, text: 'hello' }] });
  return api.request({
    method: 'POST',
    url: `/v1/hooks/${streamId}`,
    payload,
    headers: {
      'content-type': 'application/json',
      'x-tributary-timestamp': String(timestamp),
      'x-tributary-signature': signWebhook(secret, timestamp, payload),
    },
  });
}

async function storedSecrets(api: ApiHarness, streamId: string) {
  const rows = await api.app
    .get(PrismaService)
    .$queryRawUnsafe<{ current: string; previous: string | null }[]>(
      'SELECT webhook_secret AS current, webhook_secret_previous AS previous FROM stream WHERE id = $1::uuid',
      streamId,
    );
  return rows[0]!;
}

describe('webhook secrets at rest (real PostgreSQL + Redis)', () => {
  let api: ApiHarness;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await createTenantWithKey(api, 'at-rest'));
  }, 60_000);
  afterAll(() => api.close());

  it('stores the secret encrypted with AES-256-GCM under the configured key id, and verifies webhooks with it', async () => {
    const stream = await createStream(api, key, 'encrypted');
    const { current } = await storedSecrets(api, stream.id);
    expect(current).not.toContain(stream.secret);
    expect(current).not.toContain(stream.secret.slice('whsec_'.length, 20));
    expect(current.startsWith(`gcm1:${TEST_SECRETS_KEY.split(':')[0]}:`)).toBe(true);
    expect((await hook(api, stream.id, stream.secret)).status).toBe(202);
    expect((await hook(api, stream.id, 'whsec_wrong')).status).toBe(401);
  });

  it('decrypts old ciphertexts under a retired key, and db:migrate re-encrypts them under the current one', async () => {
    // A database of its own: afterwards it holds nothing the test key can read.
    const before = await startApi();
    const k2 = newKey('k2');
    try {
      const tenant = await createTenantWithKey(before, 'key-rotation');
      const stream = await createStream(before, tenant.key, 'rotated-key');
      const shared = { DATABASE_URL: before.db.url, REDIS_PREFIX: before.config.REDIS_PREFIX };
      // The operator's rotation: a new current key, the old one listed as retired.
      const rotated = await startApi({
        ...shared,
        SECRETS_ENCRYPTION_KEY: k2,
        SECRETS_ENCRYPTION_RETIRED_KEYS: TEST_SECRETS_KEY,
      });
      try {
        expect((await hook(rotated, stream.id, stream.secret)).status).toBe(202);
        // New secrets are written under the new key at once.
        const fresh = await createStream(rotated, tenant.key, 'after-rotation');
        expect((await storedSecrets(rotated, fresh.id)).current.startsWith('gcm1:k2:')).toBe(true);

        const output = await runMigrations(before.db.url, { secrets: SecretBox.fromConfig(rotated.config) });
        expect(output).toContain('Stored secrets: 0 encrypted, 1 re-encrypted; all under key k2.');
        expect((await storedSecrets(rotated, stream.id)).current.startsWith('gcm1:k2:')).toBe(true);
      } finally {
        await rotated.close();
      }
      // The retired key can now be dropped from the configuration.
      const onlyNew = await startApi({ ...shared, SECRETS_ENCRYPTION_KEY: k2 });
      try {
        expect((await hook(onlyNew, stream.id, stream.secret)).status).toBe(202);
      } finally {
        await onlyNew.close();
      }
    } finally {
      await before.close();
    }
  }, 120_000);

  it('the migration encrypts plain-text secrets that earlier versions stored', async () => {
    const stream = await createStream(api, key, 'legacy');
    const legacySecret = `whsec_${randomBytes(32).toString('base64url')}`;
    // What the previous release left in the table: the secret itself.
    await api.app
      .get(PrismaService)
      .$executeRawUnsafe(
        'UPDATE stream SET webhook_secret = $1 WHERE id = $2::uuid',
        legacySecret,
        stream.id,
      );

    await runMigrations(api.db.url, { secrets: SecretBox.fromConfig(api.config) });

    const { current } = await storedSecrets(api, stream.id);
    expect(current).not.toContain(legacySecret);
    expect(current.startsWith(`gcm1:${TEST_SECRETS_KEY.split(':')[0]}:`)).toBe(true);
    expect((await hook(api, stream.id, legacySecret)).status).toBe(202);
  }, 120_000);
});

describe('webhook secret rotation per stream', () => {
  let api: ApiHarness;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    ({ key } = await createTenantWithKey(api, 'rotation'));
  }, 60_000);
  afterAll(() => api.close());

  const rotate = (streamId: string, body: unknown, as = key) =>
    api.request({ method: 'POST', url: `/v1/streams/${streamId}/webhook:rotate`, key: as, body });

  it('keeps old and new valid for the overlap asked for, and only the newest beyond it', async () => {
    const stream = await createStream(api, key, 'overlap');
    const first = await rotate(stream.id, { overlapSeconds: 3600 });
    expect(first.status).toBe(200);
    const second = first.body.webhook.secret as string;
    expect(second).toMatch(/^whsec_/);
    expect(second).not.toBe(stream.secret);
    const until = Date.parse(first.body.previousSecretValidUntil as string);
    expect(until).toBeGreaterThan(Date.now() + 3500_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect((await hook(api, stream.id, stream.secret)).status).toBe(202);
    expect((await hook(api, stream.id, second)).status).toBe(202);
    const stored = await storedSecrets(api, stream.id);
    expect(`${stored.current} ${stored.previous}`).not.toContain(second);
    expect(`${stored.current} ${stored.previous}`).not.toContain(stream.secret);

    // Rotating again ends the older overlap: at most two secrets are ever valid.
    const third = await rotate(stream.id, { overlapSeconds: 0 });
    expect(third.status).toBe(200);
    expect(third.body.previousSecretValidUntil).toBeNull();
    expect((await hook(api, stream.id, stream.secret)).status).toBe(401);
    expect((await hook(api, stream.id, second)).status).toBe(401);
    expect((await hook(api, stream.id, third.body.webhook.secret as string)).status).toBe(202);
  });

  it('refuses the previous secret once its overlap has passed', async () => {
    const stream = await createStream(api, key, 'short-overlap');
    const rotated = await rotate(stream.id, { overlapSeconds: 1 });
    expect(rotated.status).toBe(200);
    const until = Date.parse(rotated.body.previousSecretValidUntil as string);
    // Waits for the overlap's end (a deadline the answer states), then the old secret is refused.
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await hook(api, stream.id, stream.secret)).status;
      if (status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(401);
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect((await hook(api, stream.id, rotated.body.webhook.secret as string)).status).toBe(202);
  }, 60_000);

  it('uses WEBHOOK_SECRET_OVERLAP_SECONDS when no overlap is given, and validates the one given', async () => {
    const stream = await createStream(api, key, 'default-overlap');
    const rotated = await rotate(stream.id, {});
    expect(rotated.status).toBe(200);
    const until = Date.parse(rotated.body.previousSecretValidUntil as string);
    const overlapMs = api.config.WEBHOOK_SECRET_OVERLAP_SECONDS * 1000;
    expect(until).toBeGreaterThan(Date.now() + overlapMs - 60_000);
    expect(until).toBeLessThanOrEqual(Date.now() + overlapMs);
    const bad = await rotate(stream.id, { overlapSeconds: -1 });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details[0].path).toBe('overlapSeconds');
  });

  it("answers 404 for another tenant's stream, exactly as for a missing one", async () => {
    const stream = await createStream(api, key, 'not-yours');
    const other = await createTenantWithKey(api, 'rotation-other');
    const theirs = await rotate(stream.id, {}, other.key);
    const missing = await rotate('00000000-0000-4000-8000-000000000000', {}, other.key);
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await hook(api, stream.id, stream.secret)).status).toBe(202);
  });
});

describe('webhook replay protection', () => {
  let api: ApiHarness;
  let replica: ApiHarness;
  let key: string;
  beforeAll(async () => {
    api = await startApi();
    replica = await startApi({ DATABASE_URL: api.db.url, REDIS_PREFIX: api.config.REDIS_PREFIX });
    ({ key } = await createTenantWithKey(api, 'replay'));
  }, 60_000);
  afterAll(async () => {
    await replica.close();
    await api.close();
  });

  it('refuses a signature seen before within the tolerance window with 409, on any replica', async () => {
    const stream = await createStream(api, key, 'replayed');
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({ items: [{ id: 'r1', text: 'pay me once' }] });
    const first = await hook(api, stream.id, stream.secret, { timestamp, payload });
    expect(first.status).toBe(202);
    for (const target of [api, replica]) {
      const again = await hook(target, stream.id, stream.secret, { timestamp, payload });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('conflict');
      expect(again.body.error.message).toMatch(/replay/i);
      expect(again.body.error.message).toMatch(/timestamp/);
    }
    // The same items signed afresh are a new delivery (and a duplicate for ingest).
    const resent = await hook(api, stream.id, stream.secret, { timestamp: timestamp - 1, payload });
    expect(resent.status).toBe(202);
    expect(resent.body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('lets a delivery that was refused be sent again unchanged', async () => {
    const stream = await createStream(api, key, 'retried');
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({ items: [{ id: 'x', text: 'ok', unknown: true }] });
    expect((await hook(api, stream.id, stream.secret, { timestamp, payload })).status).toBe(422);
    expect((await hook(api, stream.id, stream.secret, { timestamp, payload })).status).toBe(422);
  });

  it('keeps streams apart: the same timestamp and body on another stream is no replay', async () => {
    const a = await createStream(api, key, 'replay-a');
    const b = await createStream(api, key, 'replay-b');
    const timestamp = Math.floor(Date.now() / 1000);
    const payload = JSON.stringify({ items: [{ id: 'same', text: 'same' }] });
    expect((await hook(api, a.id, a.secret, { timestamp, payload })).status).toBe(202);
    expect((await hook(api, b.id, b.secret, { timestamp, payload })).status).toBe(202);
  });
});
