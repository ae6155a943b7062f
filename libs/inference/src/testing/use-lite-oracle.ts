import { spawn } from 'node:child_process';
import path from 'node:path';

export interface OracleResult {
  tokens: number[][];
  embeddings: number[][] | null;
}

/**
 * Asks the publisher's TF.js pipeline (in its own process: TF.js and jest's sandbox do not mix)
 * for token ids and, optionally, embeddings.
 */
export async function askUseLiteOracle(texts: string[], embed: boolean): Promise<OracleResult> {
  const child = spawn(process.execPath, [path.join(__dirname, 'use-lite-oracle.cjs')], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(JSON.stringify({ texts, embed }));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`reference pipeline failed (${String(code)}): ${err}`);
  return JSON.parse(out) as OracleResult;
}
