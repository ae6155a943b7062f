import { spawn } from 'node:child_process';
import { isRunning, stopProcess, waitForExit, waitUntil } from '@tributary/testing';
import { KeptService, Supervisor, type RunningService } from './supervisor';

describe('Supervisor', () => {
  it('restarts a crashing app with growing backoff and stops it for good on stop()', async () => {
    const events: string[] = [];
    const lines: string[] = [];
    const supervisor = new Supervisor({
      onLine: (app, line) => lines.push(`${app}:${line}`),
      onEvent: (message) => events.push(message),
      initialBackoffMs: 20,
      maxBackoffMs: 1_000,
      stableAfterMs: 60_000,
    });
    supervisor.start({
      name: 'crashy',
      args: ['-e', 'console.log("started"); process.exit(3)'],
      env: process.env,
    });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (events.length >= 3) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    await supervisor.stop();
    expect(events[0]).toBe('crashy exited (3); restarting in 20 ms (crash #1)');
    expect(events[1]).toBe('crashy exited (3); restarting in 40 ms (crash #2)');
    expect(events[2]).toBe('crashy exited (3); restarting in 80 ms (crash #3)');
    expect(lines.filter((l) => l === 'crashy:started').length).toBeGreaterThanOrEqual(3);
    const after = events.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(events.length).toBe(after);
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
