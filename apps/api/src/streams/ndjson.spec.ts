import { ndjsonLines } from './ndjson';

async function collect(chunks: (string | Buffer)[], max = 1024) {
  const out = [];
  async function* source() {
    for (const c of chunks) yield await Promise.resolve(c);
  }
  for await (const l of ndjsonLines(source(), max)) out.push(l);
  return out;
}

describe('ndjsonLines (incremental, bounded)', () => {
  it('splits lines across arbitrary chunk boundaries, with \\n and \\r\\n and no final break', async () => {
    expect(await collect(['{"a":1}\n{"b"', ':2}\r\n', '\n', '{"c":3}'])).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 2, text: '{"b":2}' },
      { line: 4, text: '{"c":3}' },
    ]);
  });

  it('keeps multi-byte characters split between chunks intact', async () => {
    const bytes = Buffer.from('{"t":"née ☕ 🎉"}\n', 'utf8');
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    expect(await collect(chunks)).toEqual([{ line: 1, text: '{"t":"née ☕ 🎉"}' }]);
  });

  it('reports an over-long line by number and goes on, without buffering it', async () => {
    const long = 'x'.repeat(50);
    expect(await collect(['ok1\n', long.slice(0, 20), long.slice(20), '\nok2\n'], 30)).toEqual([
      { line: 1, text: 'ok1' },
      { line: 2, tooLong: true },
      { line: 3, text: 'ok2' },
    ]);
  });

  it('yields nothing for an empty body', async () => {
    expect(await collect([])).toEqual([]);
    expect(await collect(['\n\n'])).toEqual([]);
  });
});
