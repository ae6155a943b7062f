import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from './build';

const ROOT = path.resolve(__dirname, '../../..');

/** Runs plain node (no TypeScript loader) on a script; resolves with its output, rejects with it when it fails. */
function runNode(script: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`node exited ${String(code)}:\n${output}`)),
    );
  });
}

describe('npm run build', () => {
  it('ships the embedded store thread, which runs from the compiled modules under plain node', async () => {
    // Inside the checkout, so that the output resolves node_modules as the image's does.
    mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
    const out = mkdtempSync(path.join(ROOT, 'tmp', 'build-'));
    try {
      const result = build(out);
      const embedded = 'libs/vector-store/src/embedded';
      expect(result.modules).toEqual(
        expect.arrayContaining([
          `${embedded}/embedded-store-thread.cjs`,
          `${embedded}/threaded-embedded-vector-store.ts`,
        ]),
      );
      // No TypeScript beside the thread script: it can only have loaded the compiled module.
      expect(existsSync(path.join(out, embedded, 'threaded-embedded-vector-store.ts'))).toBe(false);
      const output = await runNode(
        `
        const { ThreadedEmbeddedVectorStore } = require('./libs/vector-store/src/index.js');
        (async () => {
          const store = await ThreadedEmbeddedVectorStore.open({ dir: 'vectors' });
          await store.ensureCollection('smoke', 2);
          await store.upsert('smoke', [{ id: 'a', vector: Float32Array.of(1, 0), payload: { n: 1 } }]);
          const [hit] = await store.search('smoke', { vector: Float32Array.of(1, 0), k: 1 });
          await store.close();
          console.log(JSON.stringify(hit));
        })().catch((err) => { console.error(err); process.exit(1); });
        `,
        out,
      );
      expect(JSON.parse(output)).toEqual({ id: 'a', score: expect.closeTo(1, 3), payload: { n: 1 } });
      expect(existsSync(path.join(out, 'vectors', 'smoke'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
