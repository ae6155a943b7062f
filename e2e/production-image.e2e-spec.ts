import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPgPool } from '@tributary/db';
import { freePort, testRedisUrl, testServerUrl, uniqueRedisPrefix, waitUntil } from '@tributary/testing';
import { parseAllDocuments } from 'yaml';
import { call, ROOT, startProcess, type AppProcess } from './support/app-process';

/**
 * The image, without a Docker engine: this checkout stands for deploy/Dockerfile's build stage
 * (dev dependencies from `npm ci`, models from `npm run models:build`, which jest's global setup
 * ran), the test runs `npm run build` into a folder of its own, then performs every instruction of
 * the Dockerfile's runtime stage in a scratch folder (the production `npm ci --omit=dev` from the
 * npm cache, the copies, the slimming) and runs the result the way the image and the Kubernetes
 * manifests do: the migration Job, the API (the image's CMD), a worker and the scheduler, with
 * plain `node`.
 */

interface Instruction {
  op: string;
  args: string;
}

/** The stages of a Dockerfile (continuation lines joined, comments dropped), by name. */
function dockerfileStages(text: string): Map<string, Instruction[]> {
  const stages = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines.map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') {
      const name = /\sAS\s+(\S+)$/i.exec(args!)?.[1];
      if (!name) throw new Error(`unnamed stage: ${line}`);
      current = [];
      stages.set(name, current);
      continue;
    }
    current!.push({ op: op!.toUpperCase(), args: args! });
  }
  return stages;
}

/** Runs a shell command to completion; rejects with its output when it fails. */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`\`${command}\` exited ${String(code)}:\n${output}`)),
    );
  });
}

/** Files under `dir` whose names match, outside node_modules. */
function filesMatching(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesMatching(full, pattern));
    else if (pattern.test(entry.name)) found.push(full);
  }
  return found;
}

interface Container {
  name: string;
  command: string[];
  env?: { name: string; value: string }[];
}

/** The containers and the ConfigMap data of the committed manifests. */
function manifests(): { containers: Map<string, Container>; configMap: Record<string, string> } {
  const containers = new Map<string, Container>();
  let configMap: Record<string, string> = {};
  const dir = path.join(ROOT, 'deploy', 'kubernetes');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      const resource = doc.toJS() as {
        kind: string;
        metadata?: { name: string };
        data?: Record<string, string>;
        spec?: { template?: { spec?: { containers?: Container[] } } };
      };
      if (resource.kind === 'ConfigMap') configMap = resource.data ?? {};
      for (const c of resource.spec?.template?.spec?.containers ?? [])
        containers.set(resource.metadata!.name, c);
    }
  }
  return { containers, configMap };
}

describe('the production image, built and run without Docker (deploy/Dockerfile, deploy/kubernetes)', () => {
  const stages = dockerfileStages(readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8'));
  const { containers, configMap } = manifests();
  // Made once the files above have parsed, so a parse error leaves no folder behind.
  const work = mkdtempSync(path.join(tmpdir(), 'tributary-image-'));
  const app = path.join(work, 'app');
  const buildOut = path.join(work, 'build', 'dist');
  const vectorDir = path.join(work, 'vectors');
  const databaseName = `tributary_image_${randomBytes(5).toString('hex')}`;
  const serverUrl = new URL(testServerUrl());
  const databaseUrl = new URL(serverUrl.toString());
  databaseUrl.pathname = `/${databaseName}`;
  const processes: AppProcess[] = [];
  const seconds: Record<string, number> = {};
  let imageEnv: NodeJS.ProcessEnv = {};
  let cmd: string[] = [];

  async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await run();
    } finally {
      seconds[step] = Math.round(Number(process.hrtime.bigint() - started) / 1e7) / 100;
    }
  }

  async function admin(sql: string): Promise<void> {
    const pool = createPgPool(serverUrl.toString(), { poolSize: 1 });
    try {
      await pool.query(sql);
    } finally {
      await pool.end();
    }
  }

  afterAll(async () => {
    for (const p of processes) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exit();
    }
    await admin(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    rmSync(work, { recursive: true, force: true });
    process.stdout.write(`${JSON.stringify({ productionImageSeconds: seconds })}\n`);
  });

  it('has a build stage with dev dependencies, models and the compiled apps, and a runtime stage', () => {
    const build = (stages.get('build') ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(build).toEqual(
      expect.arrayContaining(['npm ci --no-audit --no-fund', 'npm run models:build', 'npm run build']),
    );
    expect(stages.get('runtime')).toBeDefined();
  });

  it('builds, installs production packages only, and holds no TypeScript', async () => {
    // The build stage's `npm run build`, into a folder of this test's own.
    await timed('build', () =>
      sh(`npm run build -- --out-dir ${JSON.stringify(buildOut)}`, ROOT, {
        ...process.env,
        NODE_OPTIONS: '',
      }),
    );
    mkdirSync(app, { recursive: true });
    // The runtime stage, instruction by instruction, with `app` as its WORKDIR.
    const env: NodeJS.ProcessEnv = {};
    const hostEnv = { ...process.env, NODE_OPTIONS: '' };
    const fromBuild = (source: string) =>
      source === '/src/dist' ? buildOut : path.join(ROOT, path.relative('/src', source));
    for (const { op, args } of stages.get('runtime')!) {
      if (op === 'WORKDIR' || op === 'USER' || op === 'EXPOSE') continue;
      if (op === 'ENV') {
        for (const pair of args.split(/\s+/)) {
          const [name, ...value] = pair.split('=');
          env[name!] = value.join('=');
        }
      } else if (op === 'COPY') {
        const words = args.split(/\s+/);
        const from = words.find((w) => w.startsWith('--from='));
        const [sources, target] = [words.filter((w) => !w.startsWith('--')).slice(0, -1), words.at(-1)!];
        for (const source of sources) {
          const src = from ? fromBuild(source) : path.join(ROOT, source);
          const into = target.endsWith('/')
            ? path.join(app, target, path.basename(source))
            : path.join(app, target);
          cpSync(src, into, { recursive: true });
        }
      } else if (op === 'RUN') {
        const command = args.replace(/^(--\S+\s+)+/, '');
        await timed(command.split(' ').slice(0, 3).join(' '), () => sh(command, app, { ...hostEnv, ...env }));
      } else if (op === 'CMD') {
        cmd = JSON.parse(args) as string[];
      } else {
        throw new Error(`the test does not know the Dockerfile instruction ${op} ${args}`);
      }
    }
    imageEnv = env;
    expect(imageEnv['NODE_ENV']).toBe('production');
    // Compiled JavaScript only, and nothing that could compile TypeScript at run time.
    expect(filesMatching(app, /\.(ts|mts|cts)$/).filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
    for (const dev of ['@swc-node/register', '@swc/core', '@swc/jest', 'jest', 'nx'])
      expect(existsSync(path.join(app, 'node_modules', dev))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'win32'))).toBe(
      false,
    );
    // The image's command and the manifests' commands name compiled files that exist.
    expect(cmd).toEqual(containers.get('tributary-api')!.command);
    for (const c of containers.values()) {
      expect(c.command[0]).toBe('node');
      expect(existsSync(path.join(app, c.command[1]!))).toBe(true);
    }
  });

  it('migrates an empty database, then the API, a worker and the scheduler run and embed an item', async () => {
    expect(cmd.length).toBeGreaterThan(0);
    const [port, metricsPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const adminKey = `trb_admin_${randomBytes(16).toString('hex')}`;
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      ...imageEnv,
      ...configMap,
      // The Secret.
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: testRedisUrl(),
      ADMIN_API_KEY: adminKey,
      SECRETS_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
      // What differs here: loopback, free ports, a prefix of this test's own, one model, and the
      // embedded vector store (no pgvector server runs here; the pgvector e2e covers that store).
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_PREFIX: uniqueRedisPrefix(),
      MODELS: 'use-lite@1',
      VECTOR_STORE: 'embedded',
      VECTOR_DIR: vectorDir,
      INFERENCE_INTRA_OP_THREADS: '1',
      INFERENCE_SESSIONS: '1',
      EMBED_WORKER_LOCK_MS: '2000',
    };
    const run = (name: string, extra: NodeJS.ProcessEnv = {}) => {
      const container = containers.get(name)!;
      const own = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      const [command, ...args] = name === 'tributary-api' ? cmd : container.command;
      const proc = startProcess(
        args,
        { ...env, ...own, INFERENCE_SESSIONS: '1', ...extra },
        { command, cwd: app },
      );
      processes.push(proc);
      return proc;
    };

    await admin(`CREATE DATABASE ${databaseName}`);
    const migrate = run('tributary-migrate');
    const migrated = await timed('migrate', () => migrate.exit());
    expect({ exit: migrated, output: migrate.lines.join('\n') }).toEqual({
      exit: 0,
      output: expect.stringMatching(/All migrations have been successfully applied/),
    });

    const api = run('tributary-api');
    await timed('api ready', () =>
      waitUntil(
        'the compiled API to be ready',
        async () => (await fetch(`${base}/health/ready`).catch(() => undefined))?.status === 200,
        120_000,
        200,
      ),
    );
    const worker = run('tributary-worker-embed-use-lite-1', { METRICS_PORT: String(metricsPort) });
    await timed('worker ready', () => worker.waitForLine(/serving embedding queues/, 120_000));
    const scheduler = run('tributary-scheduler');
    await scheduler.waitForLine(/scheduled OrphanedItemsRequeue/, 120_000);

    const tenant = await call(base, 'POST', '/v1/admin/tenants', adminKey, { name: 'image' });
    expect(tenant.status).toBe(201);
    const key = (await call(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, adminKey, {})).body
      .secret;
    const stream = await call(base, 'POST', '/v1/streams', key, { name: 'news', kind: 'text' });
    expect(stream.status).toBe(201);
    const text = 'Heavy rain floods the streets of Lisbon';
    const sent = await call(base, 'POST', `/v1/streams/${stream.body.id}/items`, key, {
      items: [{ id: 'a', text }],
    });
    expect(sent.status).toBe(202);
    let found: Awaited<ReturnType<typeof call>> | undefined;
    await timed('ingest to searchable', () =>
      waitUntil(
        'the item to be searchable',
        async () => {
          found = await call(base, 'POST', '/v1/collections/news/search', key, {
            query: 'flooding in Lisbon',
            k: 1,
          });
          return found.status === 200 && found.body.data.length === 1;
        },
        120_000,
        200,
      ),
    );
    expect(found!.body.data[0]).toMatchObject({ id: 'a', text });
    const counters = (await call(base, 'GET', `/v1/streams/${stream.body.id}`, key)).body.counters;
    expect(counters).toMatchObject({ accepted: 1, embedded: 1, failed: 0 });

    // They stop cleanly on SIGTERM, as a rolling update stops them.
    for (const p of [scheduler, worker, api]) {
      p.child.kill('SIGTERM');
      expect(await p.exit()).toBe(0);
    }
  });
});
