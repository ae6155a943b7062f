import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stopProcess, waitForExit } from '@tributary/testing';

export interface SupervisedApp {
  name: string;
  /** Node arguments (script and flags). */
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface RestartPolicyOptions {
  /** First restart delay; doubles per consecutive crash. @defaultValue 1000 */
  initialBackoffMs?: number;
  /** Longest restart delay. @defaultValue 30000 */
  maxBackoffMs?: number;
  /** Running this long counts as healthy again and resets the backoff. @defaultValue 60000 */
  stableAfterMs?: number;
}

export interface SupervisorOptions extends RestartPolicyOptions {
  /** Called with each output line of each app. */
  onLine(app: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** Called for the supervisor's own events (start, crash, restart, stop). */
  onEvent(message: string): void;
  /** Called with an app's pid each time it is (re)started. */
  onStarted?(app: string, pid: number): void;
}

/** Exponential backoff between restarts of one crashing process, reset once it ran long enough. */
export class RestartPolicy {
  private crashes = 0;

  constructor(private readonly options: RestartPolicyOptions = {}) {}

  /** Records a crash of a process started at `startedAt`: its number in a row, and the delay before the next start. */
  crashed(startedAt: number): { crash: number; delayMs: number } {
    const stable = Date.now() - startedAt >= (this.options.stableAfterMs ?? 60_000);
    this.crashes = stable ? 1 : this.crashes + 1;
    const delayMs = Math.min(
      (this.options.initialBackoffMs ?? 1_000) * 2 ** (this.crashes - 1),
      this.options.maxBackoffMs ?? 30_000,
    );
    return { crash: this.crashes, delayMs };
  }
}

interface Running {
  app: SupervisedApp;
  child?: ChildProcess;
  restarts: RestartPolicy;
  startedAt: number;
  restartTimer?: NodeJS.Timeout;
}

/**
 * Runs apps as child processes and restarts a crashed one with exponential backoff, logging each
 * crash. Each app runs in a process group of its own, so a terminal's Ctrl-C (sent to the whole
 * foreground group) reaches only the launcher, which then stops the apps in order. `stop()` stops
 * everything (SIGTERM, then SIGKILL after a grace period) and restarts nothing.
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {}

  start(app: SupervisedApp): void {
    const entry: Running = { app, restarts: new RestartPolicy(this.options), startedAt: 0 };
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
      detached: true,
    });
    entry.child = child;
    entry.startedAt = Date.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) =>
        this.options.onLine(entry.app.name, line, stream),
      );
    }
    if (child.pid) this.options.onStarted?.(entry.app.name, child.pid);
    void waitForExit(child).then((code) => this.exited(entry, code));
  }

  private exited(entry: Running, code: number | NodeJS.Signals): void {
    if (this.stopping) return;
    const { crash, delayMs } = entry.restarts.crashed(entry.startedAt);
    this.options.onEvent(
      `${entry.app.name} exited (${String(code)}); restarting in ${delayMs} ms (crash #${crash})`,
    );
    entry.restartTimer = setTimeout(() => {
      if (!this.stopping) this.launch(entry);
    }, delayMs);
  }

  /** Stops every app and reports how each one ended (`api stopped (0)`). */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(async (entry) => {
        clearTimeout(entry.restartTimer);
        if (!entry.child) return;
        const alreadyGone = entry.child.exitCode !== null || entry.child.signalCode !== null;
        await stopProcess(entry.child, graceMs);
        if (!alreadyGone)
          this.options.onEvent(`${entry.app.name} stopped (${String(await waitForExit(entry.child))})`);
      }),
    );
  }
}

/** A service process started and ready (redis-server, a database server). */
export interface RunningService {
  readonly pid: number;
  /** Resolves with the exit code (or signal) when the process ends, however it ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  stop(): Promise<void>;
}

export interface KeptServiceOptions<S extends RunningService> extends RestartPolicyOptions {
  /** For the log (`redis-server exited (SIGKILL); restarting in 1000 ms`). */
  name: string;
  /** Starts the service (same port, same data directory each time) and resolves once it is ready. */
  start(): Promise<S>;
  onEvent(message: string): void;
  /** Called with the service after each restart. */
  onRestarted?(service: S): void;
}

/**
 * Keeps one service running the way {@link Supervisor} keeps the apps: when it exits without being
 * asked to (a crash, an OOM kill), it is started again with the same backoff, and the restart is
 * logged. A failed restart counts as another crash.
 */
export class KeptService<S extends RunningService = RunningService> {
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;
  private restarting?: Promise<void>;
  private readonly restarts: RestartPolicy;

  private constructor(
    private readonly options: KeptServiceOptions<S>,
    private running: S,
  ) {
    this.restarts = new RestartPolicy(options);
    this.watch(running, Date.now());
  }

  /** Starts the service for the first time; a failure here is not retried. */
  static async start<S extends RunningService>(options: KeptServiceOptions<S>): Promise<KeptService<S>> {
    return new KeptService(options, await options.start());
  }

  /** The service started last (it may have exited since and be waiting for its restart). */
  get current(): S {
    return this.running;
  }

  private watch(service: S, startedAt: number): void {
    void service.exited.then((code) => {
      if (!this.stopping && service === this.running) this.crashed(`exited (${String(code)})`, startedAt);
    });
  }

  private crashed(what: string, startedAt: number): void {
    const { crash, delayMs } = this.restarts.crashed(startedAt);
    this.options.onEvent(`${this.options.name} ${what}; restarting in ${delayMs} ms (crash #${crash})`);
    this.restartTimer = setTimeout(() => {
      this.restarting = this.restart();
    }, delayMs);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    const startedAt = Date.now();
    let service: S;
    try {
      service = await this.options.start();
    } catch (err) {
      if (!this.stopping)
        this.crashed(`failed to restart: ${err instanceof Error ? err.message : String(err)}`, startedAt);
      return;
    }
    this.running = service;
    if (this.stopping) return;
    this.watch(service, startedAt);
    this.options.onEvent(`${this.options.name} restarted (pid ${service.pid})`);
    this.options.onRestarted?.(service);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.restarting;
    await this.running.stop();
  }
}
