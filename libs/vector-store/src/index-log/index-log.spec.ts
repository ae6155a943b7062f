import { decodeIndexOp, fromPayload, itemPayload, metadataFilter } from './index-log';

describe('index log payloads and entries', () => {
  it('keeps text and metadata, and exposes scalar metadata for filters', () => {
    const payload = itemPayload({
      streamId: 's1',
      text: 'hello',
      metadata: { lang: 'en', likes: 3, ok: true, tags: ['a'] },
    });
    expect(payload).toMatchObject({
      _text: 'hello',
      _stream: 's1',
      m_lang: 'en',
      m_likes: 3,
      m_ok: true,
    });
    expect(payload['m_tags']).toBeUndefined();
    expect(fromPayload(payload)).toEqual({
      text: 'hello',
      metadata: { lang: 'en', likes: 3, ok: true, tags: ['a'] },
    });
    expect(metadataFilter({ lang: 'en' })).toEqual({ m_lang: 'en' });
    expect(fromPayload(itemPayload({ streamId: 's', text: 't', metadata: null }))).toEqual({
      text: 't',
      metadata: null,
    });
  });

  it('decodes entries written before vectors had a binary field (base64 in the JSON)', () => {
    const vector = new Float32Array([0.1, -0.2, 3.5e-8, 1]);
    const body = JSON.stringify({
      d: 4,
      a: [123],
      p: [{ i: 'x', l: { _text: 't' }, v: Buffer.from(vector.buffer).toString('base64') }],
    });
    const op = decodeIndexOp(['op', 'upsert', 'k', 'key-1', 'v', '7', 'b', body]);
    expect(op).toMatchObject({ op: 'upsert', key: 'key-1', version: '7', dimensions: 4, acceptedAt: [123] });
    expect(op.op === 'upsert' && Array.from(op.points[0]!.vector)).toEqual(Array.from(vector));
    expect(decodeIndexOp(['op', 'delete', 'k', 'key-1', 'v', '8', 'b', '{"ids":["x"]}'])).toEqual({
      op: 'delete',
      key: 'key-1',
      version: '8',
      ids: ['x'],
    });
  });

  it('decodes binary vectors as xreadBuffer returns them, and refuses a count that does not add up', () => {
    const vectors = new Float32Array([0.1, -0.2, 3.5e-8, 1, 5, 6, 7, 8]);
    const body = JSON.stringify({
      d: 4,
      a: [1, 2],
      p: [
        { i: 'x', l: { _text: 't' } },
        { i: 'y', l: {} },
      ],
    });
    const fields = ['op', 'upsert', 'k', 'key-1', 'v', '9', 'b', body].map((f) => Buffer.from(f));
    const op = decodeIndexOp([...fields, Buffer.from('x'), Buffer.from(vectors.buffer)]);
    expect(op).toMatchObject({ op: 'upsert', key: 'key-1', version: '9', dimensions: 4, acceptedAt: [1, 2] });
    if (op.op !== 'upsert') throw new Error('not an upsert');
    expect(op.points.map((p) => [p.id, Array.from(p.vector)])).toEqual([
      ['x', Array.from(vectors.subarray(0, 4))],
      ['y', Array.from(vectors.subarray(4))],
    ]);
    expect(() => decodeIndexOp([...fields, Buffer.from('x'), Buffer.from(vectors.buffer, 0, 16)])).toThrow(
      'holds 4 floats for 2 points of 4',
    );
  });
});
