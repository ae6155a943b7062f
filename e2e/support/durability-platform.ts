import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool } from '@tributary/db';
import { createRedis, waitForRedis } from '@tributary/redis';
import { freePort, isRunning, startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import { ROOT, startProcess, type AppProcess } from './app-process';
import { ADMIN_KEY, startPlatform } from './pipeline';

/**
 * What the durability suite needs of a running platform, whoever started it: the API's address and
 * admin key, the worker (killed, and started again by whoever supervises it), Redis (crashed and
 * brought back on the same AOF and port) and the database (to count rows).
 */
export interface DurabilityPlatform {
  readonly base: string;
  readonly adminKey: string;
  /** EMBED_WORKER_LOCK_MS of the worker. */
  readonly workerLockMs: number;
  /** The Redis the platform runs on, and its key prefix. */
  readonly redisUrl: string;
  readonly redisPrefix: string;
  /** Whether `crashRedis` can drop the AOF's tail (only where the test itself restarts Redis). */
  readonly canLoseAofTail: boolean;
  /** Rows of a query against the platform's PostgreSQL. */
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  /** The worker's Prometheus text (of the worker running now). */
  workerMetrics(): Promise<string>;
  /** SIGKILL of the worker; resolves when a new worker serves the embedding queues again. */
  killWorker(): Promise<void>;
  /** The size of Redis' AOF now: what a crash may keep (see `crashRedis`). */
  aofSize(): number;
  /**
   * SIGKILL of redis-server; resolves when Redis answers again on the same port and AOF. With
   * `keepAofBytes` (where `canLoseAofTail`), the AOF is cut back to that size before the restart, as
   * a power loss does to the writes `appendfsync everysec` had not yet flushed.
   */
  crashRedis(keepAofBytes?: number): Promise<void>;
  /**
   * SIGKILL of redis-server, then `request` once it is dead, then Redis back on the same port and
   * AOF. Resolves with the answer of a request sent and answered while nothing listened on Redis'
   * port; where the launcher restarts Redis by itself (about a second later) a request that
   * overlapped the restart proves nothing, so the crash is repeated (at most 5 times).
   */
  whileRedisDown<T>(request: () => Promise<T>): Promise<T>;
  /**
   * SIGSTOP of the app's process (its supervisor still sees it running, so nothing replaces it);
   * the function returned sends SIGCONT.
   */
  freeze(app: 'api' | 'worker'): () => void;
  close(): Promise<void>;
}

/** The settings both modes run with: short locks and an eager orphan sweep. */
export const DURABILITY_ENV = {
  EMBED_WORKER_LOCK_MS: '2000',
  ORPHAN_SWEEP_EVERY_MS: '1000',
  ORPHANED_AFTER_MS: '3000',
  INDEX_SAVE_EVERY_MS: '500',
  MODELS: 'use-lite@1',
  INFERENCE_INTRA_OP_THREADS: '1',
  // Low, so the failed-authentication test reaches it quickly (from an address no other test uses).
  AUTH_FAILURES_PER_ADDRESS: '5',
} as const;

/** Whether something accepts TCP connections on 127.0.0.1:`port` now. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Stops and resumes a process by pid (SIGSTOP / SIGCONT). */
function freezePid(pid: number | undefined, what: string): () => void {
  if (!pid) throw new Error(`no ${what} process to freeze`);
  process.kill(pid, 'SIGSTOP');
  return () => {
    if (isRunning(pid)) process.kill(pid, 'SIGCONT');
  };
}

/** The file Redis appends to now (multi-part AOF, Redis ≥ 7: the last `incr` file of the manifest). */
function currentAofFile(dir: string): string {
  const aofDir = path.join(dir, 'appendonlydir');
  const manifest = readFileSync(path.join(aofDir, 'appendonly.aof.manifest'), 'utf8');
  const incr = manifest
    .split('\n')
    .map((line) => /^file (\S+) seq \d+ type i/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  if (incr.length === 0) throw new Error(`no incremental AOF file in ${aofDir}`);
  return path.join(aofDir, incr[incr.length - 1]!);
}

function pgQuery(url: string) {
  // An idle connection ended by the server (the test database dropped) is no test failure.
  const pool = createPgPool(url, { poolSize: 2, allowExitOnIdle: true, onPoolError: () => undefined });
  return {
    query: async <R>(text: string, params: unknown[] = []) => (await pool.query(text, params)).rows as R[],
    end: () => pool.end(),
  };
}

/**
 * Mode (b): the API, a worker and the scheduler as processes on a test database of the test run's
 * PostgreSQL, over a redis-server of its own with AOF; the test supervises them.
 */
export async function startSeparatePlatform(): Promise<DurabilityPlatform> {
  const redisDir = mkdtempSync(path.join(tmpdir(), 'tributary-redis-aof-'));
  const redisPort = await freePort();
  let redis: RedisServer = await startRedisServer({ dataDir: redisDir, port: redisPort });
  const platform = await startPlatform({
    ...DURABILITY_ENV,
    REDIS_URL: redis.url,
    // The orphan sweep runs on the maintenance queue.
    WORKER_QUEUES: 'embed-use-lite-1,maintenance',
  });
  const db = pgQuery(platform.db.url);
  await platform.start('api');
  await platform.start('worker');
  await platform.start('scheduler');
  return {
    base: platform.base,
    adminKey: ADMIN_KEY,
    workerLockMs: Number(DURABILITY_ENV.EMBED_WORKER_LOCK_MS),
    redisUrl: redis.url,
    redisPrefix: platform.env['REDIS_PREFIX']!,
    canLoseAofTail: true,
    query: db.query,
    workerMetrics: async () => (await fetch(platform.workerMetrics)).text(),
    async killWorker() {
      await platform.stop('worker', 'SIGKILL');
      await platform.start('worker');
    },
    aofSize: () => statSync(currentAofFile(redisDir)).size,
    async crashRedis(keepAofBytes) {
      const file = currentAofFile(redisDir);
      process.kill(redis.pid, 'SIGKILL');
      await redis.stop();
      if (keepAofBytes !== undefined) truncateSync(file, keepAofBytes);
      redis = await startRedisServer({ dataDir: redisDir, port: redisPort });
    },
    async whileRedisDown(request) {
      process.kill(redis.pid, 'SIGKILL');
      await redis.stop();
      try {
        return await request();
      } finally {
        redis = await startRedisServer({ dataDir: redisDir, port: redisPort });
      }
    },
    freeze: (app) => freezePid(platform.apps.get(app)?.child.pid, app),
    async close() {
      await db.end();
      await platform.close();
      await redis.stop();
      rmSync(redisDir, { recursive: true, force: true });
    },
  };
}

interface LauncherState {
  launcher: number;
  redis: number | null;
  apps: Record<string, number>;
}

/** The environment a process was started with (Linux), to learn what the launcher handed its apps. */
function environmentOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** Pids of the workers that said they serve their queues, in order, from the launcher's output. */
function servingWorkerPids(launcher: AppProcess): number[] {
  const pids: number[] = [];
  for (const line of launcher.lines) {
    if (!line.startsWith('[worker] ') || !line.includes('serving embedding queues')) continue;
    try {
      pids.push((JSON.parse(line.slice('[worker] '.length)) as { pid: number }).pid);
    } catch {
      // not a JSON log line
    }
  }
  return pids;
}

/**
 * Mode (a), the default mode users run: `node scripts/up.mjs` on a fresh DATA_DIR, with the
 * launcher's own database and redis-server; the launcher supervises (and restarts) everything.
 */
export async function startLauncherPlatform(extraEnv: NodeJS.ProcessEnv = {}): Promise<DurabilityPlatform> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-durability-up-'));
  // mkdtemp makes it private to its owner: the embedded PostgreSQL's own user must reach its files.
  chmodSync(dataDir, 0o755);
  // The models built for this checkout, so the launcher finds them up to date instead of converting.
  const builtModels = path.join(ROOT, '.data', 'models');
  if (existsSync(builtModels)) cpSync(builtModels, path.join(dataDir, 'models'), { recursive: true });
  const port = await freePort();
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...DURABILITY_ENV,
    DATA_DIR: dataDir,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    ADMIN_API_KEY: ADMIN_KEY,
    // The worker says when it serves its queues at info level.
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'REDIS_PREFIX', 'NODE_OPTIONS', 'VECTOR_DIR'])
    delete env[name];
  const launcher = startProcess(['scripts/up.mjs'], env);
  const stateFile = path.join(dataDir, 'launcher.json');
  const state = () => JSON.parse(readFileSync(stateFile, 'utf8')) as LauncherState;
  try {
    await launcher.waitForLine(/^Tributary is up\.$/, 240_000);
    await waitUntil('the worker to serve its queues', () =>
      Promise.resolve(servingWorkerPids(launcher).length > 0),
    );
  } catch (err) {
    launcher.child.kill('SIGKILL');
    throw err;
  }
  const apps = environmentOf(state().apps['api']!);
  const db = pgQuery(apps['DATABASE_URL']!);
  const redisUrl = apps['REDIS_URL']!;
  const redisPort = Number(new URL(redisUrl).port);
  const redisAnswers = async () => {
    const client = createRedis(redisUrl, 'producer', 'durability-probe');
    try {
      await waitForRedis(client, 1_000);
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };
  const currentRedisPid = () => {
    const pid = state().redis;
    if (!pid) throw new Error('the launcher did not start redis-server');
    return pid;
  };
  return {
    base: `http://127.0.0.1:${port}`,
    adminKey: ADMIN_KEY,
    workerLockMs: Number(DURABILITY_ENV.EMBED_WORKER_LOCK_MS),
    redisUrl,
    redisPrefix: apps['REDIS_PREFIX'] ?? 'tributary',
    canLoseAofTail: false,
    query: db.query,
    workerMetrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    async killWorker() {
      const serving = servingWorkerPids(launcher);
      const pid = serving[serving.length - 1]!;
      process.kill(pid, 'SIGKILL');
      await waitUntil(
        'the launcher to restart the worker',
        () => Promise.resolve(servingWorkerPids(launcher).length > serving.length),
        90_000,
        50,
      );
    },
    aofSize: () => statSync(currentAofFile(path.join(dataDir, 'redis'))).size,
    async crashRedis() {
      const pid = currentRedisPid();
      process.kill(pid, 'SIGKILL');
      await waitUntil('redis-server to die', () => Promise.resolve(!isRunning(pid)), 10_000, 20);
      await waitUntil(`the launcher to restart redis-server on port ${redisPort}`, redisAnswers, 60_000, 100);
    },
    async whileRedisDown(request) {
      for (let attempt = 1; ; attempt++) {
        const pid = currentRedisPid();
        process.kill(pid, 'SIGKILL');
        await waitUntil('redis-server to die', () => Promise.resolve(!isRunning(pid)), 10_000, 5);
        const answer = await request();
        // Dead before the request and nothing listening after its answer: down all along.
        const stillDown = !(await listening(redisPort));
        await waitUntil(
          `the launcher to restart redis-server on port ${redisPort}`,
          redisAnswers,
          60_000,
          100,
        );
        await waitUntil('the launcher to publish the new pid', () => Promise.resolve(state().redis !== pid));
        if (stillDown) return answer;
        if (attempt === 5)
          throw new Error('the launcher restarted redis-server before each of 5 requests was answered');
      }
    },
    freeze(app) {
      const serving = servingWorkerPids(launcher);
      return freezePid(app === 'worker' ? serving[serving.length - 1] : state().apps[app], app);
    },
    async close() {
      const last = existsSync(stateFile) ? state() : undefined;
      if (launcher.child.exitCode === null) launcher.child.kill('SIGTERM');
      await launcher.exit();
      await db.end();
      // Whatever a failed stop left behind.
      for (const pid of [last?.redis, ...Object.values(last?.apps ?? {}), ...servingWorkerPids(launcher)])
        if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
