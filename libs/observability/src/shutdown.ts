import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';

/** What {@link closeOnSignals} needs of a Nest application or application context. */
interface Closable {
  close(): Promise<void>;
}

/**
 * Closes the app on SIGTERM/SIGINT (running Nest's shutdown hooks in order: readiness off, drain,
 * close connections) and exits 0 once it has, or 1 if closing failed. A repeated signal while
 * closing changes nothing: the same Ctrl-C often arrives twice (the terminal signals the whole
 * process group, and a parent such as npm or the launcher forwards it), and cutting the drain short
 * would drop jobs in hand and the index save. Whoever wants the process gone now sends SIGKILL.
 */
export function closeOnSignals(app: Closable, name: string): void {
  let closing: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      process.stderr.write(
        `${name}: ${signal} again, still closing after ${closing} (SIGKILL stops at once)\n`,
      );
      return;
    }
    closing = signal;
    // Whoever reads our output (the launcher) may be gone already: logs must not stop the drain.
    ignoreBrokenPipes();
    app.close().then(
      () => {
        process.stdout.write(`${name}: closed cleanly after ${signal}\n`);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(
          `${name}: error while shutting down: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function ignoreBrokenPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
}

/** Ends a process whose start-up failed, with the reason on stderr (configuration errors without a stack). */
export function exitOnStartupFailure(name: string): (err: unknown) => never {
  return (err) => {
    process.stderr.write(`${name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof Error && err.name !== 'ConfigError' && err.stack)
      process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  };
}

/**
 * Runs a Nest application context (no HTTP server) the way every background app runs: JSON logs
 * through pino, closed gracefully on SIGTERM/SIGINT.
 */
export async function runApplicationContext(module: DynamicModule, name: string): Promise<void> {
  const app = await NestFactory.createApplicationContext(module, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  closeOnSignals(app, name);
  await app.init();
}
