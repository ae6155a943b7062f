import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './free-port';
import { findExecutable, stopProcess, waitForExit, waitUntil } from './process';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Resolves with the exit code (or signal) when redis-server ends, however it ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Directory for the append-only file; without it Redis keeps nothing on disk. */
  dataDir?: string;
  port?: number;
  /**
   * In a process group of its own, so a terminal's Ctrl-C (sent to the whole foreground group)
   * does not stop it before the apps using it have drained; whoever starts it then stops it.
   * @defaultValue false
   */
  detached?: boolean;
}

export const REDIS_MISSING =
  'redis-server was not found. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; macOS: `brew install redis`) or set REDIS_URL to a running Redis.';

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Starts `redis-server` from the OS on a loopback port, as a child of this process (not
 * daemonized, so it cannot outlive a crashed parent unnoticed). With `dataDir`, AOF is on
 * (`appendfsync everysec`), so an acknowledged write survives a Redis restart.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = findExecutable('redis-server', ['/usr/bin', '/usr/local/bin', '/usr/sbin']);
  if (!binary) throw new Error(REDIS_MISSING);
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--protected-mode', 'yes'];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', options.dataDir);
  } else {
    args.push('--appendonly', 'no');
  }
  const child = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  try {
    await waitUntil(
      `redis-server on port ${port}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
        return answersPing(port);
      },
      15_000,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? 0,
    exited: waitForExit(child),
    stop: () => stopProcess(child),
  };
}
