import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitForExit } from '@tributary/testing';
import { stopInOrder } from './launcher-guard';

describe('stopInOrder (the launcher guard)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tributary-guard-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `script`, resolving once it has installed its handlers (it then prints "ready"). */
  async function node(script: string) {
    const child = spawn(process.execPath, ['-e', `${script}; console.log('ready')`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = waitForExit(child);
    await new Promise((resolve) => child.stdout.once('data', resolve));
    return { child, exited };
  }

  it('signals a stage only once the one before it has exited, and SIGKILLs what outlasts its grace', async () => {
    const log = path.join(dir, 'order.log');
    const append = (line: string) => `require('fs').appendFileSync(${JSON.stringify(log)}, '${line}\\n')`;
    // The "app" takes a while to drain; the "service" notes when its SIGTERM arrives.
    const app = await node(
      `process.on('exit', () => ${append('app exited')}); process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300)); setInterval(() => {}, 1000)`,
    );
    const service = await node(
      `process.on('SIGTERM', () => { ${append('service got SIGTERM')}; process.exit(0); }); setInterval(() => {}, 1000)`,
    );
    const stubborn = await node(`process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)`);

    await stopInOrder([
      { name: 'app', pids: [app.child.pid!], graceMs: 10_000 },
      { name: 'service', pids: [service.child.pid!], graceMs: 10_000 },
      { name: 'stubborn', pids: [stubborn.child.pid!], graceMs: 200 },
    ]);

    expect(readFileSync(log, 'utf8')).toBe('app exited\nservice got SIGTERM\n');
    expect(await app.exited).toBe(0);
    expect(await service.exited).toBe(0);
    expect(await stubborn.exited).toBe('SIGKILL');
  });
});
