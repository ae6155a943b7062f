/**
 * The longest the event loop went without running a timer while `work` ran (ms): a 1 ms timer
 * re-armed on every run, so the figure is the largest gap between two runs (about 1 ms when
 * nothing blocks). What a request arriving meanwhile would have waited at most.
 */
export async function maxLoopDelayDuring(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let max = 0;
  let stopped: (() => void) | undefined;
  const tick = (): void => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    if (stopped) stopped();
    else setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  try {
    await work();
  } finally {
    // One more run, so a block just before `work` settled is counted.
    await new Promise<void>((resolve) => {
      stopped = resolve;
    });
  }
  return max;
}
