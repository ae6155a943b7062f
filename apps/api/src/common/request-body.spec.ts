import { DomainError } from '@tributary/contracts';
import { PassThrough } from 'node:stream';
import { BoundedBody, type BodyBounds } from './request-body';

function bounded(source: PassThrough, change: Partial<BodyBounds> = {}, declared?: number) {
  let abandoned = 0;
  const body = new BoundedBody(
    source,
    {
      maxBytes: 10,
      tooLarge: () => new DomainError('payload_too_large', 'too large'),
      checkDeclaredLength: true,
      idleMs: 60_000,
      deadline: Date.now() + 60_000,
      idleError: () => new DomainError('request_timeout', 'idle'),
      deadlineError: () => new DomainError('request_timeout', 'deadline'),
      ...change,
    },
    declared,
    () => abandoned++,
  );
  return { body, abandoned: () => abandoned };
}

async function readAll(body: AsyncIterable<Buffer>): Promise<{ data: string; error?: string }> {
  let data = '';
  try {
    for await (const chunk of body) data += chunk.toString();
  } catch (err) {
    return { data, error: (err as Error).message };
  }
  return { data };
}

describe('BoundedBody', () => {
  it('passes a body within its limit through whole', async () => {
    const source = new PassThrough();
    const { body, abandoned } = bounded(source);
    source.end('0123456789');
    expect(await readAll(body)).toEqual({ data: '0123456789' });
    expect(abandoned()).toBe(0);
  });

  it('delivers every byte within the limit, then the error, to a reader that is slow to take them', async () => {
    const source = new PassThrough();
    const { body, abandoned } = bounded(source, { checkDeclaredLength: false }, 100);
    source.write('0123');
    source.write('456789abc');
    const read = (async () => {
      let data = '';
      try {
        for await (const chunk of body) {
          data += chunk.toString();
          await new Promise((r) => setImmediate(r));
        }
      } catch (err) {
        return { data, error: (err as Error).message };
      }
      return { data };
    })();
    expect(await read).toEqual({ data: '0123456789', error: 'too large' });
    expect(abandoned()).toBe(1);
  });

  it('delivers the bytes within the limit to a flowing reader before the error', async () => {
    const source = new PassThrough();
    const { body } = bounded(source);
    const seen: string[] = [];
    const error = new Promise<Error>((resolve) => body.on('error', resolve));
    body.on('data', (chunk: Buffer) => seen.push(chunk.toString()));
    source.write('0123456789abcdef');
    expect((await error).message).toBe('too large');
    expect(seen.join('')).toBe('0123456789');
  });

  it('refuses a declared length over the limit before reading anything', async () => {
    const source = new PassThrough();
    const { body } = bounded(source, {}, 11);
    expect(await readAll(body)).toEqual({ data: '', error: 'too large' });
  });

  it('reads a body as it comes when asked not to check the declared length', async () => {
    const source = new PassThrough();
    const { body } = bounded(source, { checkDeclaredLength: false }, 1_000_000);
    source.end('short');
    expect(await readAll(body)).toEqual({ data: 'short' });
  });

  it('times out a client that stops sending, while the reader waits for it', async () => {
    const source = new PassThrough();
    const { body } = bounded(source, { idleMs: 100 });
    source.write('01');
    expect(await readAll(body)).toEqual({ data: '01', error: 'idle' });
  });

  it('does not count the reader being busy as the client pausing', async () => {
    const source = new PassThrough({ highWaterMark: 1 });
    const { body } = bounded(source, { idleMs: 100, maxBytes: 1_000_000 });
    // Enough data to fill every buffer: the body stops pulling while the reader is busy.
    const payload = 'x'.repeat(200_000);
    source.end(payload);
    let data = '';
    const iterator = body[Symbol.asyncIterator]();
    const first = await iterator.next();
    data += String(first.value);
    // Busy for longer than the idle timeout: nothing was wanted from the client meanwhile.
    await new Promise((r) => setTimeout(r, 400));
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      data += String(next.value);
    expect(data.length).toBe(payload.length);
  });

  it('stops a body still arriving at its deadline', async () => {
    const source = new PassThrough();
    const { body } = bounded(source, { deadline: Date.now() + 200, maxBytes: 1_000_000 });
    const timer = setInterval(() => source.write('.'), 20);
    const result = await readAll(body);
    clearInterval(timer);
    expect(result.error).toBe('deadline');
    expect(result.data.length).toBeGreaterThan(0);
  });
});
