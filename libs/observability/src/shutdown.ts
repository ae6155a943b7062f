/** What {@link closeOnSignals} needs of a Nest application or application context. */
interface Closable {
  close(): Promise<void>;
}

/**
 * Closes the app on SIGTERM/SIGINT (running Nest's shutdown hooks in order: readiness off, drain,
 * close connections) and exits 0 once it has, or 1 if closing failed. A second signal while
 * closing exits at once.
 */
export function closeOnSignals(app: Closable, name: string): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      process.stderr.write(`${name}: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    closing = true;
    app.close().then(
      () => process.exit(0),
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
