import { spawn } from 'node:child_process';
import { isRunning, stopProcess, waitForExit, waitUntil } from '@tributary/testing';
import { KeptService, Supervisor, type RunningService } from './supervisor';

describe('Supervisor', () => {
  it('restarts a crashing app with growing backoff and stops it for good on stop()', async () => {
    // The restart delays run on jest's clock, moved by the test: the restart stop() must cancel is
    // a timer that can be seen, not a moment to sleep through (the apps themselves are real processes).
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const events: string[] = [];
      const starts: number[] = [];
      let notify = (): void => undefined;
      const nextEvent = () => new Promise<void>((resolve) => (notify = resolve));
      const supervisor = new Supervisor({
        onLine: () => undefined,
        onEvent: (message) => {
          events.push(message);
          notify();
        },
        onStarted: (_app, pid) => starts.push(pid),
        initialBackoffMs: 20,
        maxBackoffMs: 1_000,
        stableAfterMs: 60_000,
      });
      let event = nextEvent();
      supervisor.start({ name: 'crashy', args: ['-e', 'process.exit(3)'], env: process.env });
      for (const delayMs of [20, 40]) {
        await event; // a crash was reported and its restart scheduled
        event = nextEvent();
        jest.advanceTimersByTime(delayMs);
      }
      await event;
      expect(events).toEqual([
        'crashy exited (3); restarting in 20 ms (crash #1)',
        'crashy exited (3); restarting in 40 ms (crash #2)',
        'crashy exited (3); restarting in 80 ms (crash #3)',
      ]);
      expect(starts).toHaveLength(3);
      expect(jest.getTimerCount()).toBe(1); // the restart after crash #3

      await supervisor.stop();
      expect(jest.getTimerCount()).toBe(0);
      jest.advanceTimersByTime(60_000);
      expect(starts).toHaveLength(3);
      expect(events).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops a running app with SIGTERM', async () => {
    const supervisor = new Supervisor({ onLine: () => undefined, onEvent: () => undefined });
    supervisor.start({ name: 'sleeper', args: ['-e', 'setInterval(() => {}, 1000)'], env: process.env });
    const pid = supervisor.pids()['sleeper'];
    expect(pid).toBeGreaterThan(0);
    await supervisor.stop(5_000);
    expect(() => process.kill(pid!, 0)).toThrow();
  });
});

describe('KeptService', () => {
  function sleeper(): RunningService {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    return { pid: child.pid!, exited: waitForExit(child), stop: () => stopProcess(child, 5_000) };
  }

  it('restarts a killed service with backoff, counts a failed restart as a crash, and stops it for good', async () => {
    const events: string[] = [];
    const restarted: RunningService[] = [];
    let starts = 0;
    const kept = await KeptService.start({
      name: 'svc',
      start: () => {
        starts += 1;
        if (starts === 2) return Promise.reject(new Error('port taken'));
        return Promise.resolve(sleeper());
      },
      onEvent: (message) => events.push(message),
      onRestarted: (service) => restarted.push(service),
      initialBackoffMs: 20,
    });
    const first = kept.current;
    process.kill(first.pid, 'SIGKILL');
    await waitUntil('the restart', () => Promise.resolve(restarted.length === 1), 10_000, 10);
    expect(events).toEqual([
      'svc exited (SIGKILL); restarting in 20 ms (crash #1)',
      'svc failed to restart: port taken; restarting in 40 ms (crash #2)',
      `svc restarted (pid ${restarted[0]!.pid})`,
    ]);
    expect(kept.current).toBe(restarted[0]);
    expect(kept.current.pid).not.toBe(first.pid);
    expect(isRunning(kept.current.pid)).toBe(true);

    await kept.stop();
    expect(await kept.current.exited).toBe('SIGTERM');
    expect(events).toHaveLength(3);
  });
});
