import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitForExit, waitUntil } from '@tributary/testing';

export const ROOT = path.resolve(__dirname, '../..');

export interface AppProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves when a line matching `pattern` has been printed. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exit(): Promise<number | NodeJS.Signals>;
}

export interface StartProcessOptions {
  /** The program to run. @defaultValue this Node binary */
  command?: string;
  /** In a process group of its own (its pid is the group id), as a terminal runs a job. */
  detached?: boolean;
  /** Working directory. @defaultValue the repository root */
  cwd?: string;
}

/** Runs a Node entry point of this repository (or `command`) as a real process, collecting its output lines. */
export function startProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: StartProcessOptions = {},
): AppProcess {
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => lines.push(line));
  }
  const exited = waitForExit(child);
  return {
    child,
    lines,
    async waitForLine(pattern, timeoutMs = 60_000) {
      let found: string | undefined;
      await waitUntil(
        `a line matching ${String(pattern)}`,
        () => {
          if (child.exitCode !== null)
            throw new Error(`process exited (${child.exitCode}):\n${lines.join('\n')}`);
          found = lines.find((l) => pattern.test(l));
          return Promise.resolve(found !== undefined);
        },
        timeoutMs,
        50,
      );
      return found!;
    },
    exit: () => exited,
  };
}

/** One of the apps (api, worker, scheduler), started the way the launcher starts it. */
export function startApp(app: 'api' | 'worker' | 'scheduler', env: NodeJS.ProcessEnv): AppProcess {
  return startProcess(['-r', '@swc-node/register', path.join('apps', app, 'src', 'main.ts')], {
    ...env,
    SWC_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
  });
}

/** JSON over HTTP with an optional bearer key. */
export async function call(
  base: string,
  method: string,
  url: string,
  key?: string,
  body?: unknown,
  // Response bodies are read by tests that state the shape they expect.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/**
 * One HTTP request sent from `localAddress` (any 127.x.y.z works on Linux loopback), so a test can
 * act as a client address of its own: the API's per-address limits then touch no other test.
 * `body` is sent as given (a string: byte for byte, as a signed webhook needs) or as JSON.
 */
export function callFrom(
  localAddress: string,
  base: string,
  method: string,
  url: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: IncomingHttpHeaders }> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${url}`,
      {
        method,
        localAddress,
        // No pooled sockets: nothing left open after the test.
        agent: false,
        headers: {
          ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The flow every deployment must pass: tenant, key, use, isolation, revoke. */
export async function smokeFlow(
  base: string,
  adminKey: string,
): Promise<{ tenantId: string; keyId: string; key: string }> {
  const tenant = await call(base, 'POST', '/v1/admin/tenants', adminKey, { name: `smoke-${Date.now()}` });
  expect(tenant.status).toBe(201);
  const created = await call(base, 'POST', `/v1/admin/tenants/${tenant.body.id}/keys`, adminKey, {
    name: 'smoke',
  });
  expect(created.status).toBe(201);
  const me = await call(base, 'GET', '/v1/me', created.body.secret);
  expect(me.status).toBe(200);
  expect(me.body.tenant.id).toBe(tenant.body.id);
  const other = await call(base, 'POST', '/v1/admin/tenants', adminKey, {
    name: `smoke-other-${Date.now()}`,
  });
  const otherKey = await call(base, 'POST', `/v1/admin/tenants/${other.body.id}/keys`, adminKey, {});
  expect((await call(base, 'GET', `/v1/keys/${otherKey.body.id}`, created.body.secret)).status).toBe(404);
  return { tenantId: tenant.body.id, keyId: created.body.id, key: created.body.secret };
}

/** Whether something accepts TCP connections on a loopback port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
