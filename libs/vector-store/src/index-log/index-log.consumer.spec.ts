import { compareStreamIds } from './index-log.consumer';

describe('compareStreamIds', () => {
  it('orders ids by time, then sequence, numerically, with the empty log first', () => {
    const ids = ['1700000000000-10', '0', '1700000000000-9', '999999999999-0', '1700000000001-0', ''];
    expect([...ids].sort(compareStreamIds)).toEqual([
      '0',
      '',
      '999999999999-0',
      '1700000000000-9',
      '1700000000000-10',
      '1700000000001-0',
    ]);
    expect(compareStreamIds('5-1', '5-1')).toBe(0);
  });
});
