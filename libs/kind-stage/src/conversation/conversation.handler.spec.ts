import { affectedMembers } from './conversation.handler';

const members = (...sequences: number[]) => sequences.map((sequence, i) => ({ id: `m${i}`, sequence }));
const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

describe('affectedMembers (which contexts a changed message touches)', () => {
  it('a written message: its own context and the window − 1 after it, clipped at the end', () => {
    const m = members(0, 1, 2, 3, 4, 5);
    expect(sorted(affectedMembers(m, [{ itemId: 'm2', sequence: 2 }], 3))).toEqual([2, 3, 4]);
    expect(sorted(affectedMembers(m, [{ itemId: 'm5', sequence: 5 }], 3))).toEqual([5]);
    expect(sorted(affectedMembers(m, [{ itemId: 'm0', sequence: 0 }], 1))).toEqual([0]);
  });

  it('a deleted message (no longer a member): the window − 1 that followed it; none after the last', () => {
    const m = members(0, 1, 3, 4, 5); // sequence 2 was deleted
    expect(sorted(affectedMembers(m, [{ itemId: 'gone', sequence: 2 }], 3))).toEqual([2, 3]);
    expect(sorted(affectedMembers(m, [{ itemId: 'gone', sequence: 9 }], 3))).toEqual([]);
    expect(sorted(affectedMembers(m, [{ itemId: 'gone', sequence: 2 }], 1))).toEqual([]);
  });

  it('messages sharing a sequence: every slot among them is counted (a superset, never fewer)', () => {
    const m = members(0, 10, 10, 20, 30);
    // Deleted at 10: it sat before, between or after the two left there.
    expect(sorted(affectedMembers(m, [{ itemId: 'gone', sequence: 10 }], 3))).toEqual([1, 2, 3, 4]);
    // Written at 10 (m1): from it, window − 1 on.
    expect(sorted(affectedMembers(m, [{ itemId: 'm1', sequence: 10 }], 3))).toEqual([1, 2, 3]);
  });

  it('several changes: the union', () => {
    const m = members(0, 1, 2, 3, 4, 5, 6, 7);
    const changed = [
      { itemId: 'm1', sequence: 1 },
      { itemId: 'm6', sequence: 6 },
    ];
    expect(sorted(affectedMembers(m, changed, 2))).toEqual([1, 2, 6, 7]);
  });
});
