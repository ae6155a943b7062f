// A process that starts the embedded PostgreSQL on the data folder given as its argument, prints
// `{"pid":…,"url":…}` and then waits, so tests can kill its owner the way a crash would.
import { startEmbeddedPostgres } from '../embedded-postgres';

startEmbeddedPostgres({ dataDir: process.argv[2]! })
  .then((server) => {
    process.stdout.write(`${JSON.stringify({ pid: server.pid, url: server.url })}\n`);
    setInterval(() => undefined, 60_000);
  })
  .catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
