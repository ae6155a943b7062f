import { isRunning } from '@tributary/testing';

/** One step of the stop order: these processes are stopped together, and gone before the next step. */
export interface GuardStage {
  name: string;
  pids: number[];
  /** How long they may take after SIGTERM before SIGKILL. */
  graceMs: number;
}

/** What the launcher sends the guard each time the set of processes it started changes. */
export interface GuardMessage {
  stages: GuardStage[];
}

function say(message: string): void {
  process.stdout.write(`[launcher-guard] ${message}\n`);
}

async function gone(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Exited in between.
    }
  }
}

/** Stops the stages one after the other, each with SIGTERM and, past its grace period, SIGKILL. */
export async function stopInOrder(stages: readonly GuardStage[]): Promise<void> {
  for (const stage of stages) {
    const alive = stage.pids.filter(isRunning);
    if (alive.length === 0) continue;
    say(`stopping ${stage.name} (${alive.join(', ')})`);
    signal(alive, 'SIGTERM');
    if (await gone(alive, stage.graceMs)) continue;
    say(`${stage.name} still running ${stage.graceMs} ms after SIGTERM: SIGKILL`);
    signal(alive.filter(isRunning), 'SIGKILL');
    await gone(alive, 5_000);
  }
}

/**
 * Started by the launcher in a process group of its own, with an IPC channel to it. The launcher
 * sends what it started, in stop order, whenever that changes. When the channel closes (the
 * launcher was killed with SIGKILL, or crashed), the guard stops those processes the way the
 * launcher would have: the apps drain first, then Redis, then the database. Nothing outlives a
 * dead launcher, yet nothing is cut off mid-drain either. After a clean stop the launcher ends the
 * guard itself, with nothing left to do.
 */
function main(): void {
  if (!process.send) {
    process.stderr.write('launcher-guard: start me from the launcher (with an IPC channel)\n');
    process.exit(2);
  }
  // Nobody may read our output any more; stopping matters more than saying so.
  process.stdout.on('error', () => undefined);
  let stages: GuardStage[] = [];
  process.on('message', (message: GuardMessage) => {
    stages = message.stages;
  });
  process.on('disconnect', () => {
    say('the launcher went away: stopping what it started');
    void stopInOrder(stages).then(() => {
      say('stopped');
      process.exit(0);
    });
  });
}

if (require.main === module) main();
