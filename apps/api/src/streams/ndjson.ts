/** One line of an NDJSON body: its 1-based number and text (without the line break). */
export interface NdjsonLine {
  line: number;
  text: string;
}

/**
 * Splits a byte stream into lines incrementally, holding at most one line (bounded by
 * `maxLineBytes`) in memory; a longer line is skipped and reported as `tooLong`. Handles `\n` and
 * `\r\n`, UTF-8 split across chunks, and a last line without a break. Blank lines are skipped
 * (their numbers still count).
 */
export async function* ndjsonLines(
  source: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
): AsyncGenerator<NdjsonLine | { line: number; tooLong: true }> {
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = false;
  let line = 0;
  const finish = function* (): Generator<NdjsonLine | { line: number; tooLong: true }> {
    line++;
    if (overflow) {
      yield { line, tooLong: true };
    } else {
      let text = Buffer.concat(parts, size).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() !== '') yield { line, text };
    }
    parts = [];
    size = 0;
    overflow = false;
  };
  for await (const chunk of source) {
    let buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    for (;;) {
      const newline = buffer.indexOf(0x0a);
      const piece = newline < 0 ? buffer : buffer.subarray(0, newline);
      if (!overflow) {
        if (size + piece.length > maxLineBytes) {
          overflow = true;
          parts = [];
          size = 0;
        } else if (piece.length > 0) {
          // Copy: the chunk's memory may be reused by the stream.
          parts.push(Buffer.from(piece));
          size += piece.length;
        }
      }
      if (newline < 0) break;
      yield* finish();
      buffer = buffer.subarray(newline + 1);
    }
  }
  if (size > 0 || overflow) yield* finish();
}
