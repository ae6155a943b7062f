import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** Percentiles (ms) of one phase of bench/latency-client.ts. */
export interface LatencyFigures {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Runs bench/latency-client.ts in a process of its own with this plan (written to a file: plans
 * with vector queries exceed a command line's 128 KiB) and returns its percentiles per phase.
 */
export async function runLatencyClient(
  plan: object[] | { interleave: object[] },
): Promise<Record<string, LatencyFigures>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-plan-'));
  const planFile = path.join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  try {
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', path.join(__dirname, 'latency-client.ts'), `@${planFile}`],
      {
        cwd: ROOT,
        env: { ...process.env, SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) throw new Error(`the latency client exited with ${code}`);
    return JSON.parse(out) as Record<string, LatencyFigures>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
