import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stopProcess, waitForExit } from '@tributary/testing';

export interface SupervisedApp {
  name: string;
  /** Node arguments (script and flags). */
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  /** Called with each output line of each app. */
  onLine(app: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** Called for the supervisor's own events (start, crash, restart). */
  onEvent(message: string): void;
  /** First restart delay; doubles per consecutive crash. @defaultValue 1000 */
  initialBackoffMs?: number;
  /** Longest restart delay. @defaultValue 30000 */
  maxBackoffMs?: number;
  /** Running this long counts as healthy again and resets the backoff. @defaultValue 60000 */
  stableAfterMs?: number;
}

interface Running {
  app: SupervisedApp;
  child?: ChildProcess;
  crashes: number;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * Runs apps as child processes and restarts a crashed one with exponential backoff, logging each
 * crash. `stop()` stops everything (SIGTERM, then SIGKILL after a grace period) and restarts nothing.
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  start(app: SupervisedApp): void {
    const entry: Running = { app, crashes: 0, startedAt: 0 };
    this.running.set(app.name, entry);
    this.launch(entry);
  }

  /** Pids of the apps running now. */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const [name, entry] of this.running) if (entry.child?.pid) pids[name] = entry.child.pid;
    return pids;
  }

  private launch(entry: Running): void {
    const child = spawn(process.execPath, entry.app.args, {
      env: entry.app.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    entry.child = child;
    entry.startedAt = Date.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) =>
        this.options.onLine(entry.app.name, line, stream),
      );
    }
    void waitForExit(child).then((code) => this.exited(entry, code));
  }

  private exited(entry: Running, code: number | NodeJS.Signals): void {
    if (this.stopping) return;
    const stable = Date.now() - entry.startedAt >= (this.options.stableAfterMs ?? 60_000);
    entry.crashes = stable ? 1 : entry.crashes + 1;
    const delay = Math.min(
      (this.options.initialBackoffMs ?? 1_000) * 2 ** (entry.crashes - 1),
      this.options.maxBackoffMs ?? 30_000,
    );
    this.options.onEvent(
      `${entry.app.name} exited (${String(code)}); restarting in ${delay} ms (crash #${entry.crashes})`,
    );
    entry.restartTimer = setTimeout(() => {
      if (!this.stopping) this.launch(entry);
    }, delay);
  }

  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(async (entry) => {
        clearTimeout(entry.restartTimer);
        if (entry.child) await stopProcess(entry.child, graceMs);
      }),
    );
  }
}
