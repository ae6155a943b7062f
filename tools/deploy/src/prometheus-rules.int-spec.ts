import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const rulesDir = path.resolve(__dirname, '../../../deploy/prometheus');

/** promtool's exit code and output (it exits non-zero on a failed check or test). */
async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: rulesDir });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('promtool is not installed: `npm test` installs it (apt: prometheus)');
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('Prometheus alert rules of the quality watch (real promtool)', () => {
  it('are valid rules', async () => {
    const { code, output } = await promtool('check', 'rules', 'quality-watch.rules.yml');
    expect(output).toContain('SUCCESS: 2 rules found');
    expect(code).toBe(0);
  });

  it('fire on a drifted report and a failed self-check, and not before (promtool test rules)', async () => {
    const { code, output } = await promtool('test', 'rules', 'quality-watch.rules.test.yml');
    expect(output).toContain('SUCCESS');
    expect(code).toBe(0);
  });

  it('are tested by a file that fails when an alert is expected where none fires', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rules-'));
    try {
      await copyFile(
        path.join(rulesDir, 'quality-watch.rules.yml'),
        path.join(dir, 'quality-watch.rules.yml'),
      );
      // The drift alert expected at minute 5, before the drifted report of minute 10.
      const test = (await readFile(path.join(rulesDir, 'quality-watch.rules.test.yml'), 'utf8')).replace(
        'eval_time: 15m',
        'eval_time: 8m',
      );
      await writeFile(path.join(dir, 'wrong.test.yml'), test);
      const { code, output } = await promtool('test', 'rules', path.join(dir, 'wrong.test.yml'));
      expect(code).not.toBe(0);
      expect(output).toContain('TributaryEmbeddingDriftDetected');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
