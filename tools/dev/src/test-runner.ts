import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  prepareTemplateDatabase,
  startPostgresServer,
  startRedisServer,
  waitForExit,
} from '@tributary/testing';

const ROOT = path.resolve(__dirname, '../../..');
const BIN = path.join(ROOT, 'node_modules', '.bin');
const REPORTS = path.join(ROOT, 'tmp', 'test-reports');

interface Step {
  name: string;
  command: string;
  args: string[];
  /** A jest step's JSON report, for the test counts. */
  report?: string;
  nodeOptions?: string;
}

interface Outcome {
  name: string;
  ok: boolean;
  seconds: number;
  passed: number;
  failed: number;
  skipped: number;
}

function jest(tier: 'unit' | 'integration' | 'e2e'): Step {
  const report = path.join(REPORTS, `${tier}.json`);
  return {
    name: tier,
    // PGlite loads its WebAssembly with dynamic import(), which jest's VM only allows with this flag.
    nodeOptions: '--experimental-vm-modules --no-warnings=ExperimentalWarning',
    command: path.join(BIN, 'jest'),
    args: [
      '-c',
      `jest.${tier}.config.js`,
      '--ci',
      '--json',
      `--outputFile=${report}`,
      ...(tier === 'unit' ? [] : ['--runInBand']),
    ],
    report,
  };
}

const steps: Step[] = [
  // Lint needs Nx's project graph for the module-boundary rule; computing it first makes it exist on a fresh clone.
  { name: 'project graph', command: path.join(BIN, 'nx'), args: ['show', 'projects'] },
  { name: 'lint', command: path.join(BIN, 'eslint'), args: ['.', '--max-warnings', '0'] },
  { name: 'format', command: path.join(BIN, 'prettier'), args: ['--check', '.', '--log-level', 'warn'] },
  { name: 'typecheck', command: path.join(BIN, 'tsc'), args: ['-p', 'tsconfig.json'] },
  jest('unit'),
  jest('integration'),
  jest('e2e'),
];

async function runStep(step: Step, env: NodeJS.ProcessEnv): Promise<Outcome> {
  process.stdout.write(`\n=== ${step.name}: ${path.basename(step.command)} ${step.args.join(' ')}\n`);
  const started = Date.now();
  const stepEnv = step.nodeOptions
    ? { ...env, NODE_OPTIONS: `${env['NODE_OPTIONS'] ?? ''} ${step.nodeOptions}`.trim() }
    : env;
  const child = spawn(step.command, step.args, { cwd: ROOT, env: stepEnv, stdio: 'inherit' });
  const code = await waitForExit(child);
  const outcome: Outcome = {
    name: step.name,
    ok: code === 0,
    seconds: (Date.now() - started) / 1000,
    passed: 0,
    failed: 0,
    skipped: 0,
  };
  if (step.report) {
    try {
      const report = JSON.parse(readFileSync(step.report, 'utf8')) as {
        numPassedTests: number;
        numFailedTests: number;
        numPendingTests: number;
        numTodoTests: number;
        numTotalTests: number;
      };
      outcome.passed = report.numPassedTests;
      outcome.failed = report.numFailedTests;
      outcome.skipped = report.numPendingTests + report.numTodoTests;
      if (report.numTotalTests === 0) outcome.ok = false;
    } catch {
      outcome.ok = false;
    }
  }
  return outcome;
}

/**
 * `npm test`: starts real PostgreSQL and Redis on free loopback ports, migrates the template
 * database once, runs lint, typecheck, unit, integration and e2e tests (every step, even after a
 * failure, so one run shows everything), stops what it started, and ends with one summary line.
 */
async function main(): Promise<void> {
  rmSync(REPORTS, { recursive: true, force: true });
  mkdirSync(REPORTS, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    FORCE_COLOR: '0',
  };
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stopAll().then(() => process.exit(130)));
  }

  const outcomes: Outcome[] = [];
  try {
    if (!env['TEST_DATABASE_URL']) {
      process.stdout.write('[test] starting PostgreSQL\n');
      const postgres = await startPostgresServer();
      stops.push(() => postgres.stop());
      env['TEST_DATABASE_URL'] = postgres.url;
    }
    if (!env['TEST_REDIS_URL']) {
      process.stdout.write('[test] starting Redis\n');
      const redis = await startRedisServer();
      stops.push(() => redis.stop());
      env['TEST_REDIS_URL'] = redis.url;
    }
    process.stdout.write('[test] migrating the template database\n');
    await prepareTemplateDatabase(env['TEST_DATABASE_URL']);
    env['TEST_TEMPLATE_READY'] = '1';
    for (const step of steps) outcomes.push(await runStep(step, env));
  } finally {
    await stopAll();
  }

  process.stdout.write('\n=== summary\n');
  for (const o of outcomes) {
    const counts = steps.find((s) => s.name === o.name)?.report
      ? ` (${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped)`
      : '';
    process.stdout.write(
      `${o.ok ? 'ok  ' : 'FAIL'} ${o.name.padEnd(14)} ${o.seconds.toFixed(1).padStart(6)} s${counts}\n`,
    );
  }
  const passed = outcomes.reduce((n, o) => n + o.passed, 0);
  // A failed step without failed tests (lint, typecheck, a suite that did not compile) counts as one failure.
  const failed = outcomes.reduce((n, o) => n + (o.failed > 0 ? o.failed : o.ok ? 0 : 1), 0);
  const skipped = outcomes.reduce((n, o) => n + o.skipped, 0);
  const allOk = outcomes.length === steps.length && outcomes.every((o) => o.ok);
  process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exit(allOk ? 0 : 1);
}

main().catch((err: unknown) => {
  process.stderr.write(`[test] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
