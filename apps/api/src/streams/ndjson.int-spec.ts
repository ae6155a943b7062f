import { request as httpRequest, type ClientRequest } from 'node:http';
import { PrismaService } from '@tributary/db';
import { createTenantWithKey, startApi, type ApiHarness } from '../testing/api-harness';

const LIMITS = { rateLimitPerSecond: 1000, rateLimitBurst: 1000 };

/** An NDJSON body built line by line, remembering which lines hold good items. */
class NdjsonBody {
  readonly lines: string[] = [];
  /** Line number (1-based) → id, for the lines that are valid items. */
  readonly good = new Map<number, string>();

  item(id: string, text = `the text of item ${id}`): this {
    this.lines.push(JSON.stringify({ id, text }));
    this.good.set(this.lines.length, id);
    return this;
  }

  raw(line: string): this {
    this.lines.push(line);
    return this;
  }

  text(): string {
    return this.lines.map((l) => `${l}\n`).join('');
  }

  /** Ids of the good lines up to and including `line`. */
  goodThrough(line: number): string[] {
    return [...this.good].filter(([n]) => n <= line).map(([, id]) => id);
  }
}

async function newStream(api: ApiHarness, name: string) {
  const { key } = await createTenantWithKey(api, name, LIMITS);
  const stream = await api.request({ method: 'POST', url: '/v1/streams', key, body: { name, kind: 'text' } });
  expect(stream.status).toBe(201);
  return { key, id: stream.body.id as string };
}

function postNdjson(api: ApiHarness, key: string, streamId: string, payload: string) {
  return api.request({
    method: 'POST',
    url: `/v1/streams/${streamId}/items:ndjson`,
    key,
    payload,
    headers: { 'content-type': 'application/x-ndjson' },
  });
}

/** Ids the stream has stored and queued (what "accepted" means), sorted. */
async function queuedIds(api: ApiHarness, streamId: string): Promise<string[]> {
  const { rows } = await api.app
    .get(PrismaService)
    .sql.query<{ id: string }>(
      `SELECT id FROM item WHERE stream_id = $1::uuid AND enqueued_at IS NOT NULL ORDER BY id`,
      [streamId],
    );
  return rows.map((r) => r.id);
}

const sorted = (ids: string[]) => [...ids].sort();

/**
 * A real HTTP upload whose body the test writes piece by piece (`write` gets the open request); the
 * promise settles with the server's answer, whenever it comes.
 */
function upload(
  base: string,
  path: string,
  headers: Record<string, string>,
  write: (request: ClientRequest, answered: () => boolean) => void,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test states the shape it expects
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    let done = false;
    const request = httpRequest(`${base}${path}`, { method: 'POST', headers }, (response) => {
      done = true;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    request.on('error', (err) => {
      if (!done) reject(err);
    });
    write(request, () => done);
  });
}

describe('NDJSON resume point (real PostgreSQL and Redis; no worker, so accepted items stay queued)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    // The first batch of 1,000 fits; the next is refused with 429 because the tenant's queue is full.
    api = await startApi({ INGEST_TENANT_MAX_QUEUED: '1005' });
  }, 60_000);
  afterAll(() => api.close());

  it('lastLineAccepted never lies past a good line that was not accepted, with blank and bad lines interleaved', async () => {
    const { key, id } = await newStream(api, 'resume');
    const body = new NdjsonBody();
    for (let i = 0; i < 1000; i++) {
      body.item(`a${i}`);
      if (i % 7 === 0) body.raw('');
      if (i % 11 === 0) body.raw('{"id": "broken", ');
    }
    for (let i = 0; i < 10; i++) {
      body
        .raw('')
        .item(`b${i}`)
        .raw(JSON.stringify({ id: `no-text-${i}` }));
    }
    body.raw('not json').raw('').raw('{"text":"no id"}').raw('');

    const res = await postNdjson(api, key, id, body.text());
    expect(res.status).toBe(429);
    const { accepted, lastLineAccepted } = res.body.error.details;
    expect(accepted).toBe(1000);
    // Resuming after lastLineAccepted sends every good line that was not accepted, and only those.
    expect(sorted(body.goodThrough(lastLineAccepted))).toEqual(await queuedIds(api, id));
    expect(res.body.error.message).toContain(`line ${lastLineAccepted}`);
  });

  it('a body sent as JSON is 415 naming the NDJSON type, after the stream is found (a missing stream is 404)', async () => {
    const { key, id } = await newStream(api, 'ndjson-as-json');
    const send = (streamId: string) =>
      api.request({
        method: 'POST',
        url: `/v1/streams/${streamId}/items:ndjson`,
        key,
        body: { items: [{ id: '1', text: 'one' }] },
      });
    const json = await send(id);
    expect(json.status).toBe(415);
    expect(json.body.error.code).toBe('unsupported_media_type');
    expect(json.body.error.message).toBe('Send the items as Content-Type: application/x-ndjson');
    const missing = await send('00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(await queuedIds(api, id)).toEqual([]);
  });
});

describe('NDJSON with a tenant burst below 1,000 items (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    // A bucket of 100 that refills at once: only a batch larger than the bucket could be refused.
    api = await startApi({ INGEST_TENANT_ITEMS_BURST: '100', INGEST_TENANT_ITEMS_PER_SECOND: '1000000' });
  }, 60_000);
  afterAll(() => api.close());

  it('queues in batches the rate limiter can pass, so every line is accepted', async () => {
    const { key, id } = await newStream(api, 'small-burst');
    const body = new NdjsonBody();
    for (let i = 0; i < 250; i++) body.item(`s${i}`);
    const res = await postNdjson(api, key, id, body.text());
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ accepted: 250, duplicates: 0 });
    expect(await queuedIds(api, id)).toEqual(sorted(body.goodThrough(250)));
  });
});

describe('NDJSON past NDJSON_MAX_BYTES (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  const limit = 4096;
  beforeAll(async () => {
    api = await startApi({ NDJSON_MAX_BYTES: String(limit) });
  }, 60_000);
  afterAll(() => api.close());

  it('413 keeps the complete lines read before the limit and says how many and up to which line', async () => {
    const { key, id } = await newStream(api, 'oversized');
    const body = new NdjsonBody();
    for (let i = 0; i < 250; i++) {
      body.item(`o${i}`);
      if (i % 5 === 0) body.raw('');
      if (i % 9 === 0) body.raw('{"id":"bad"}');
    }
    const text = body.text();
    expect(Buffer.byteLength(text)).toBeGreaterThan(2 * limit);
    // The last line whose line break still lies within the limit.
    let bytes = 0;
    let lastComplete = 0;
    for (const line of body.lines) {
      bytes += Buffer.byteLength(line) + 1;
      if (bytes > limit) break;
      lastComplete++;
    }

    const res = await postNdjson(api, key, id, text);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
    expect(res.body.error.message).toContain(String(limit));
    expect(res.body.error.message).toContain('NDJSON_MAX_BYTES');
    const { accepted, lastLineAccepted, invalidCount } = res.body.error.details;
    // Up to the last complete line, or a blank line or two before it: nothing is left to resend there.
    expect(lastLineAccepted).toBeLessThanOrEqual(lastComplete);
    expect(body.lines.slice(lastLineAccepted, lastComplete).every((l) => l === '')).toBe(true);
    expect(res.body.error.message).toContain(`line ${lastLineAccepted + 1}`);
    const expected = body.goodThrough(lastComplete);
    expect(accepted).toBe(expected.length);
    expect(invalidCount).toBe(body.lines.slice(0, lastComplete).filter((l) => l === '{"id":"bad"}').length);
    expect(await queuedIds(api, id)).toEqual(sorted(expected));
  });
});

describe('NDJSON lines the database cannot store (real PostgreSQL and Redis)', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi();
  }, 60_000);
  afterAll(() => api.close());

  it('a line with NUL (text, id, metadata) or a lone surrogate in metadata is a bad line; the lines around it are kept', async () => {
    const { key, id } = await newStream(api, 'hostile-lines');
    const body = new NdjsonBody();
    const bad: number[] = [];
    const hostile = (value: object) => {
      body.raw(JSON.stringify(value));
      bad.push(body.lines.length);
    };
    for (let i = 0; i < 1500; i++) {
      body.item(`h${i}`);
      if (i === 3) hostile({ id: 'nul-text', text: 'a\u0000b' });
      if (i === 500) hostile({ id: 'nul\u0000id', text: 'fine text' });
      if (i === 1200) hostile({ id: 'nul-meta', text: 'fine text', metadata: { lang: 'e\u0000n' } });
      if (i === 1300) hostile({ id: 'surrogate-meta', text: 'fine text', metadata: { tag: 'x\ud800' } });
      if (i === 1400) body.raw('{"id": "broken"');
      // A prototype key, refused as in a JSON body (zod alone would drop it without a word).
      if (i === 1450) {
        body.raw('{"id":"proto-meta","text":"fine text","metadata":{"__proto__":{"admin":true}}}');
        bad.push(body.lines.length);
        body.raw('{"id":"ctor-meta","text":"fine text","metadata":{"constructor":{"prototype":{"x":1}}}}');
        bad.push(body.lines.length);
      }
      // The words as values are fine.
      if (i === 1460) body.item('proto-as-text', '__proto__ and prototype are words, not keys');
    }
    const res = await postNdjson(api, key, id, body.text());
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1501);
    expect(res.body.invalidCount).toBe(7);
    expect(
      (res.body.invalid as { line: number; error: string }[]).filter((l) => /__proto__/.test(l.error)),
    ).toHaveLength(2);
    const lines = res.body.invalid.map((l: { line: number }) => l.line);
    expect(lines).toEqual([...bad, body.lines.indexOf('{"id": "broken"') + 1].sort((a, b) => a - b));
    expect(await queuedIds(api, id)).toEqual(sorted([...body.good.values()]));
  });
});

describe('upload timeouts (real HTTP on a loopback port, real PostgreSQL and Redis)', () => {
  describe('idle', () => {
    let api: ApiHarness;
    let base: string;
    beforeAll(async () => {
      api = await startApi({ UPLOAD_IDLE_TIMEOUT_MS: '500', UPLOAD_TIMEOUT_MS: '600000' });
      base = await api.listen();
    }, 60_000);
    afterAll(() => api.close());

    it('an NDJSON upload that stops sending is answered 408 with what it accepted', async () => {
      const { key, id } = await newStream(api, 'idle-ndjson');
      const body = new NdjsonBody().item('i0').raw('').raw('oops').item('i1').item('i2');
      const res = await upload(
        base,
        `/v1/streams/${id}/items:ndjson`,
        { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
        // Complete lines and half of the next one, then silence.
        (request) => request.write(`${body.text()}{"id":"half`),
      );
      expect(res.status).toBe(408);
      expect(res.body.error.code).toBe('request_timeout');
      expect(res.body.error.message).toContain('UPLOAD_IDLE_TIMEOUT_MS');
      expect(res.body.error.details).toMatchObject({ accepted: 3, lastLineAccepted: 5, invalidCount: 1 });
      expect(await queuedIds(api, id)).toEqual(['i0', 'i1', 'i2']);
    });

    it('a JSON body that stops half way is answered 408', async () => {
      const { key, id } = await newStream(api, 'idle-json');
      const json = JSON.stringify({ items: [{ id: 'j0', text: 'never finished' }] });
      const res = await upload(
        base,
        `/v1/streams/${id}/items`,
        {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(json)),
        },
        (request) => request.write(json.slice(0, 20)),
      );
      expect(res.status).toBe(408);
      expect(res.body.error.code).toBe('request_timeout');
      expect(await queuedIds(api, id)).toEqual([]);
    });
  });

  describe('whole request', () => {
    let api: ApiHarness;
    let base: string;
    beforeAll(async () => {
      api = await startApi({ UPLOAD_IDLE_TIMEOUT_MS: '20000', UPLOAD_TIMEOUT_MS: '1500' });
      base = await api.listen();
    }, 60_000);
    afterAll(() => api.close());

    it('an NDJSON upload that trickles on past UPLOAD_TIMEOUT_MS is answered 408 with what it accepted', async () => {
      const { key, id } = await newStream(api, 'slow-ndjson');
      const body = new NdjsonBody();
      const res = await upload(
        base,
        `/v1/streams/${id}/items:ndjson`,
        { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
        (request, answered) => {
          let n = 0;
          const timer = setInterval(() => {
            if (answered() || n >= 10_000) return clearInterval(timer);
            // Every line arrives, a few at a time, and never a long pause: only the deadline stops it.
            const before = body.lines.length;
            body.item(`s${n++}`).raw('');
            request.write(
              body.lines
                .slice(before)
                .map((l) => `${l}\n`)
                .join(''),
            );
          }, 50);
        },
      );
      expect(res.status).toBe(408);
      expect(res.body.error.code).toBe('request_timeout');
      expect(res.body.error.message).toContain('UPLOAD_TIMEOUT_MS');
      const { accepted, lastLineAccepted } = res.body.error.details;
      expect(accepted).toBeGreaterThan(0);
      expect(await queuedIds(api, id)).toEqual(sorted(body.goodThrough(lastLineAccepted)));
      expect(accepted).toBe(body.goodThrough(lastLineAccepted).length);
    });
  });
});
