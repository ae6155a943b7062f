import { qdrantPointId, uuidV5 } from './point-id';

describe('point ids for Qdrant', () => {
  it('computes RFC 9562 UUID version 5', () => {
    // The DNS namespace example from RFC 9562 (appendix A.4).
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('maps each id to the same UUID every time, and different ids to different UUIDs', () => {
    expect(qdrantPointId('item-1')).toBe(qdrantPointId('item-1'));
    expect(qdrantPointId('item-1')).not.toBe(qdrantPointId('item-2'));
    expect(qdrantPointId('é'.repeat(256))).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
