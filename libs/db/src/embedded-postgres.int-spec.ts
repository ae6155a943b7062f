import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { startEmbeddedPostgres } from './embedded-postgres';
import { runMigrations } from './migrate';
import { embeddedPostgresNativeDir, serverUser } from './postgres-binaries';
import { createPrismaClient } from './prisma.service';

const ROOT = path.resolve(__dirname, '../../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Process group and session of a process, from /proc/<pid>/stat. */
function groupAndSession(pid: number): [number, number] {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return [Number(fields[2]), Number(fields[3])];
}

async function scalar(url: string, sql: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ v: string }>(sql);
    const last = Array.isArray(result) ? (result.at(-1) as pg.QueryResult<{ v: string }>) : result;
    return String(last.rows[0]!.v);
  } finally {
    await client.end();
  }
}

/** A process that owns an embedded server, as a launcher would. */
function startOwner(dataDir: string) {
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', path.join(__dirname, 'testing', 'embedded-postgres-owner.ts'), dataDir],
    {
      cwd: ROOT,
      env: { ...process.env, SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = new Promise<{ pid: number; url: string }>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolve(JSON.parse(line) as { pid: number; url: string }),
    );
    child.once('exit', (code) => reject(new Error(`owner exited with ${String(code)}`)));
  });
  return { child, ready };
}

/** The watchdog shell that stops the server of `ownerPid`. */
function watchdogOf(ownerPid: number): number | undefined {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (cmd[0] === '/bin/sh' && cmd[2]?.includes('kill -0') && cmd[4] === String(ownerPid))
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

describe('embedded PostgreSQL (embedded-postgres binaries, started by the launcher)', () => {
  const dirs: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    chmodSync(dir, 0o755);
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is a real PostgreSQL in a session of its own: concurrent clients, one owner at a time, data kept across restarts', async () => {
    const dataDir = path.join(tempDir('tributary-pg-'), 'postgres');
    const first = await startEmbeddedPostgres({ dataDir });
    try {
      expect(await scalar(first.url, "SELECT current_setting('server_version') AS v")).toMatch(/^18\./);
      expect(await scalar(first.url, "SELECT current_setting('listen_addresses') AS v")).toBe('127.0.0.1');
      // Ctrl-C signals the launcher's process group: the server is in neither its group nor its session.
      const [group, session] = groupAndSession(first.pid);
      expect(group).not.toBe(groupAndSession(process.pid)[0]);
      expect(session).not.toBe(groupAndSession(process.pid)[1]);
      // Without the password nothing gets in.
      await expect(scalar(first.url.replace(/:[^:@/]+@/, ':wrong@'), 'SELECT 1 AS v')).rejects.toThrow(
        /password authentication failed/,
      );

      await runMigrations(first.url);
      // What PGlite over a socket could not do: many connections' parameterised statements at once.
      const prisma = createPrismaClient(first.url, 12);
      const results = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) =>
          prisma.tenant.create({ data: { name: `t${i}`, rateLimitPerSecond: i + 1, rateLimitBurst: 1 } }),
        ),
      );
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await prisma.tenant.count({ where: { rateLimitPerSecond: { gt: 100 } } })).toBe(100);
      await prisma.$disconnect();

      await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/already open in process \d+/);
    } finally {
      await first.stop();
    }
    expect(alive(first.pid)).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir });
    try {
      expect(await scalar(second.url, 'SELECT count(*)::text AS v FROM tenant')).toBe('200');
    } finally {
      await second.stop();
    }
  }, 180_000);

  it('does not outlive an owner killed with SIGKILL: the watchdog stops it, and the next start stops one left behind', async () => {
    const dataDir = path.join(tempDir('tributary-pg-kill-'), 'postgres');
    const owner = startOwner(dataDir);
    const { pid } = await owner.ready;
    expect(alive(pid)).toBe(true);
    owner.child.kill('SIGKILL');
    await until('the watchdog to stop the server', () => !alive(pid));

    // Both the owner and its watchdog killed: the server is left running on the files.
    const again = startOwner(dataDir);
    const left = await again.ready;
    await until('the watchdog to start', () => watchdogOf(again.child.pid!) !== undefined, 10_000);
    process.kill(watchdogOf(again.child.pid!)!, 'SIGKILL');
    again.child.kill('SIGKILL');
    await until(
      'the owner to be gone',
      () => again.child.exitCode !== null || again.child.signalCode !== null,
    );
    expect(alive(left.pid)).toBe(true);

    const messages: string[] = [];
    const next = await startEmbeddedPostgres({ dataDir, log: (m) => messages.push(m) });
    try {
      expect(messages.join('\n')).toMatch(
        new RegExp(`PostgreSQL server \\(pid ${left.pid}\\) left running .* stopping it`),
      );
      expect(alive(left.pid)).toBe(false);
      expect(await scalar(next.url, 'SELECT 1 AS v')).toBe('1');
    } finally {
      await next.stop();
    }
  }, 180_000);

  const asRoot = process.getuid?.() === 0;
  (asRoot ? it : it.skip)(
    'as root, under a private (mode 700) folder: runs as postgres from copied binaries, keeps the files in a fallback folder and finds them again',
    async () => {
      const native = embeddedPostgresNativeDir();
      expect(native).toBeDefined();
      const privateRoot = mkdtempSync(path.join(tmpdir(), 'tributary-private-'));
      dirs.push(privateRoot);
      chmodSync(privateRoot, 0o700);
      // The binaries too sit where the postgres user cannot reach them, as in a checkout under /root.
      const privateNative = path.join(privateRoot, 'node_modules', 'native');
      cpSync(native!, privateNative, { recursive: true, verbatimSymlinks: true });
      const fallbackRoot = path.join(tempDir('tributary-fallback-'), 'var-lib-tributary');
      const dataDir = path.join(privateRoot, 'checkout', '.data', 'postgres');

      const messages: string[] = [];
      const options = {
        dataDir,
        fallbackRoot,
        nativeDir: privateNative,
        log: (m: string) => messages.push(m),
      };
      const first = await startEmbeddedPostgres(options);
      let clusterDir: string;
      try {
        expect(messages.join('\n')).toContain(`the postgres user cannot reach ${dataDir}`);
        expect(messages.join('\n')).toContain(`PostgreSQL runs from a copy in ${fallbackRoot}`);
        clusterDir = readFileSync(path.join(dataDir, 'pgdata.location'), 'utf8').trim();
        expect(clusterDir.startsWith(fallbackRoot)).toBe(true);
        expect(first.clusterDir).toBe(clusterDir);
        expect(existsSync(path.join(clusterDir, 'PG_VERSION'))).toBe(true);
        const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${first.pid}/status`, 'utf8'))![1];
        expect(Number(uid)).toBe(serverUser().uid);
        await scalar(first.url, "CREATE TABLE kept AS SELECT 'still here'::text AS v; SELECT 1 AS v");
      } finally {
        await first.stop();
      }

      messages.length = 0;
      const second = await startEmbeddedPostgres(options);
      try {
        expect(messages.join('\n')).toContain(`database files in ${clusterDir} (recorded in`);
        expect(await scalar(second.url, 'SELECT v FROM kept')).toBe('still here');
      } finally {
        await second.stop();
      }
    },
    180_000,
  );
});
