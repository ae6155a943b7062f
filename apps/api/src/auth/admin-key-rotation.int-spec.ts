import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPrismaClient, runMigrations, startEmbeddedPostgres } from '@tributary/db';
import { startApi, type ApiHarness } from '../testing/api-harness';

const ROOT = path.resolve(__dirname, '../../../..');
const NEW_KEY = /TRIBUTARY ADMIN API KEY \(shown once, store it now\): (trb_admin_\S+)/;

/** `npm run admin:key -- <args>` as an operator runs it, with the given environment. */
function adminKey(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const base = { ...process.env };
  for (const name of ['DATABASE_URL', 'ADMIN_API_KEY', 'DATA_DIR', 'NODE_OPTIONS']) delete base[name];
  const child = spawn('npm', ['run', '--silent', 'admin:key', '--', ...args], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code: code ?? -1, out })));
}

function printedKey(out: string): string {
  const match = NEW_KEY.exec(out);
  if (!match) throw new Error(`no new admin key in the output:\n${out}`);
  return match[1]!;
}

describe('npm run admin:key -- --rotate: a lost admin key is replaced, and the old one stops working at once', () => {
  let api: ApiHarness;
  // No ADMIN_API_KEY: the API generated and stored one at its first start (printed once, not kept here).
  beforeAll(async () => {
    api = await startApi({ ADMIN_API_KEY: '' });
  });
  afterAll(() => api.close());

  const tenants = (key: string) => api.request({ method: 'GET', url: '/v1/admin/tenants', key });

  it('against DATABASE_URL, with the API running', async () => {
    const first = await adminKey(['--rotate'], { DATABASE_URL: api.db.url });
    expect(first.code).toBe(0);
    const a = printedKey(first.out);
    expect((await tenants(a)).status).toBe(200);

    const second = await adminKey(['--rotate'], { DATABASE_URL: api.db.url });
    expect(second.code).toBe(0);
    const b = printedKey(second.out);
    expect(b).not.toBe(a);
    // The running API refuses the old key from the next request on.
    expect((await tenants(a)).status).toBe(401);
    expect((await tenants(b)).status).toBe(200);

    const status = await adminKey([], { DATABASE_URL: api.db.url });
    expect(status.code).toBe(0);
    expect(status.out).toContain(`The admin key ${b.slice(0, 'trb_admin_'.length + 6)}…`);
    expect(status.out).not.toContain(b);
  }, 120_000);

  it('with ADMIN_API_KEY set it changes nothing and says where the key is', async () => {
    const res = await adminKey(['--rotate'], {
      DATABASE_URL: api.db.url,
      ADMIN_API_KEY: 'trb_admin_set-in-the-environment-0123456789',
    });
    expect(res.code).toBe(1);
    expect(res.out).toContain('ADMIN_API_KEY');
    expect(NEW_KEY.test(res.out)).toBe(false);
  }, 60_000);
});

describe('npm run admin:key -- --rotate on the embedded PostgreSQL (no DATABASE_URL)', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'tributary-admin-key-'));
    // As root the server runs as `postgres`, which must reach its files.
    chmodSync(dataDir, 0o755);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const storedHash = async (url: string) => {
    const prisma = createPrismaClient(url, 1);
    try {
      return (await prisma.adminCredential.findFirst())?.hash;
    } finally {
      await prisma.$disconnect();
    }
  };
  const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

  it('uses the server a running launcher holds, and starts one of its own when none runs', async () => {
    // What `npm run up` leaves running: the embedded server under DATA_DIR/postgres, migrated.
    const server = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
    let rotated: string;
    try {
      await runMigrations(server.url);
      const res = await adminKey(['--rotate'], { DATA_DIR: dataDir });
      expect(res.code).toBe(0);
      rotated = printedKey(res.out);
      expect(await storedHash(server.url)).toBe(sha256(rotated));
    } finally {
      await server.stop();
    }

    // Nothing running now: the command starts the server, rotates, and stops it again.
    const res = await adminKey(['--rotate'], { DATA_DIR: dataDir });
    expect(res.code).toBe(0);
    const again = printedKey(res.out);
    expect(again).not.toBe(rotated);
    const check = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'postgres') });
    try {
      expect(await storedHash(check.url)).toBe(sha256(again));
    } finally {
      await check.stop();
    }
  }, 240_000);
});
