import { periodicSaveDue } from './embedded-vector-store';

describe('periodic saves of the embedded store', () => {
  it('are due at once for a collection never saved, or saved quickly', () => {
    expect(periodicSaveDue(1_000, { savedAt: 0, saveMs: 0 })).toBe(true);
    expect(periodicSaveDue(1_000, { savedAt: 990, saveMs: 0.4 })).toBe(true);
  });

  it('wait twenty times as long as the last save took, so saving stays under 5% of the time', () => {
    const last = { savedAt: 10_000, saveMs: 250 };
    expect(periodicSaveDue(10_000 + 4_999, last)).toBe(false);
    expect(periodicSaveDue(10_000 + 5_000, last)).toBe(true);
  });
});
