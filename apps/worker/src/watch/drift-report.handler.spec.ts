import { numericSeed, quietNote, scheduledWindows } from './drift-report.handler';

const DAY = 86_400_000;
const iso = (w: { from: Date; to: Date }) => [w.from.toISOString(), w.to.toISOString()];

describe('scheduled drift windows', () => {
  const unpinned = { driftBaselineFrom: null, driftBaselineTo: null };

  it('name the window of the period that ended last, aligned to the period, and the one before it', () => {
    const at = Date.parse('2026-12-03T17:45:12Z');
    const { current, reference } = scheduledWindows(at, DAY, unpinned);
    expect(iso(current)).toEqual(['2026-12-02T00:00:00.000Z', '2026-12-03T00:00:00.000Z']);
    expect(iso(reference)).toEqual(['2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z']);
    // Every fan-out in the same period names the same windows (a window is reported once).
    expect(scheduledWindows(Date.parse('2026-12-03T00:00:00Z'), DAY, unpinned)).toEqual(
      scheduledWindows(Date.parse('2026-12-03T23:59:59.999Z'), DAY, unpinned),
    );
    expect(iso(scheduledWindows(Date.parse('2026-12-03T10:20:00Z'), 3_600_000, unpinned).current)).toEqual([
      '2026-12-03T09:00:00.000Z',
      '2026-12-03T10:00:00.000Z',
    ]);
  });

  it('take the pinned baseline as the reference when the collection has one', () => {
    const pinned = {
      driftBaselineFrom: new Date('2026-11-01T00:00:00Z'),
      driftBaselineTo: new Date('2026-11-08T00:00:00Z'),
    };
    const { current, reference } = scheduledWindows(Date.parse('2026-12-03T17:45:12Z'), DAY, pinned);
    expect(iso(reference)).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-08T00:00:00.000Z']);
    expect(iso(current)).toEqual(['2026-12-02T00:00:00.000Z', '2026-12-03T00:00:00.000Z']);
  });
});

describe('numericSeed', () => {
  it('is a fixed 32-bit number per seed string', () => {
    expect(numericSeed('abc')).toBe(numericSeed('abc'));
    expect(numericSeed('abc')).not.toBe(numericSeed('abd'));
    expect(Number.isInteger(numericSeed('x'))).toBe(true);
    expect(numericSeed('x')).toBeGreaterThanOrEqual(0);
    expect(numericSeed('x')).toBeLessThan(2 ** 32);
  });
});

describe('quietNote', () => {
  const r = (method: 'model' | 'ratio' | 'distance' | 'mmd', drifted: boolean, pValue?: number) => ({
    method,
    value: 0,
    threshold: 0,
    drifted,
    ...(pValue === undefined ? {} : { pValue }),
  });

  it('says the permutation test tells the windows apart when no threshold is crossed', () => {
    expect(quietNote([r('model', false), r('ratio', false), r('mmd', false, 0.0099)], 'model')).toBe(
      'no threshold crossed, but the MMD permutation test tells the windows apart (p = 0.0099 < 0.05): a shift smaller than the thresholds see',
    );
  });

  it('names the methods that crossed when the verdict method did not', () => {
    expect(quietNote([r('model', false), r('ratio', true), r('mmd', false, 0.5)], 'model')).toBe(
      'model sees no drift, but ratio crossed its threshold',
    );
    expect(
      quietNote([r('model', false), r('ratio', true), r('distance', true), r('mmd', false, 0.01)], 'model'),
    ).toBe(
      'model sees no drift, but ratio, distance crossed their thresholds; the MMD permutation test tells the windows apart (p = 0.0100 < 0.05)',
    );
  });

  it('says nothing when nothing moved', () => {
    expect(quietNote([r('model', false), r('mmd', false, 0.4)], 'model')).toBeNull();
    expect(quietNote([r('model', false)], 'model')).toBeNull();
  });
});
