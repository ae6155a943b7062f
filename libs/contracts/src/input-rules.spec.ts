import { isBlankText, METADATA_LIMITS, metadataIssues, unstorableReason } from './input-rules';

describe('input rules', () => {
  it('isBlankText: nothing left once NFKC-normalised and stripped of spaces, control and format characters', () => {
    for (const blank of ['', ' ', ' \u0007\t\n ', '\u200b\u00a0\u3000', '\ufeff\u2028']) {
      expect(isBlankText(blank)).toBe(true);
    }
    for (const text of ['a', ' x ', 'é', '\u3164', '😀', '\u2474', 'ﬀ'])
      expect(isBlankText(text)).toBe(false);
  });

  it('unstorableReason: NUL and lone surrogates, not pairs or U+FFFD', () => {
    expect(unstorableReason('a\u0000')).toMatch(/NUL/);
    expect(unstorableReason('\ud800')).toMatch(/surrogate/);
    expect(unstorableReason('x\udfffy')).toMatch(/surrogate/);
    expect(unstorableReason('\ud83d\ude00 \ufffd')).toBeUndefined();
  });

  it('measures metadata by its UTF-8 JSON size, exactly at the limit', () => {
    // "x" is one byte but up to six in the walk's upper bound: the exact size decides.
    const ascii = { s: 'x'.repeat(METADATA_LIMITS.bytes - 8) }; // {"s":"…"} is 8 bytes more
    expect(new TextEncoder().encode(JSON.stringify(ascii)).length).toBe(METADATA_LIMITS.bytes);
    expect(metadataIssues(ascii)).toEqual([]);
    expect(metadataIssues({ s: 'x'.repeat(METADATA_LIMITS.bytes - 7) })[0]!.message).toMatch(/larger than/);
    // Two bytes per "é" in UTF-8.
    expect(metadataIssues({ s: 'é'.repeat(METADATA_LIMITS.bytes / 2) })[0]!.message).toMatch(/larger than/);
  });

  it('names the path of each bad string or key, in document order', () => {
    expect(metadataIssues({ a: ['ok', 'n\u0000'], b: { 'k\u0000': 1, 'j\ud800': 2 } })).toEqual([
      { path: ['a', 1], message: expect.stringMatching(/NUL/) },
      { path: ['b'], message: expect.stringMatching(/^key "k\\u0000" must not contain NUL/) },
      { path: ['b'], message: expect.stringMatching(/^key "j\\ud800" must not contain a lone/) },
    ]);
    const proto = JSON.parse('{"a":{"b":{"__proto__":{"x":1}}}}') as Record<string, unknown>;
    expect(metadataIssues(proto)).toEqual([
      { path: ['a', 'b'], message: expect.stringMatching(/__proto__/) },
    ]);
  });
});
