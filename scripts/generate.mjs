// `npm run db:generate` (also the postinstall step): generates the Prisma client into libs/db and
// records which schema it was generated from, so the set-up scripts regenerate only when needed.
// Generating reads no database, but Prisma 6 wants DATABASE_URL to be set: a placeholder serves.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = createRequire(path.join(ROOT, 'package.json')).resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], {
  cwd: ROOT,
  stdio: 'inherit',
  env: {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL || 'postgresql://generate@127.0.0.1:1/generate',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
if (result.status !== 0) process.exit(result.status ?? 1);
const schema = readFileSync(path.join(ROOT, 'prisma', 'schema.prisma'));
writeFileSync(
  path.join(ROOT, 'libs', 'db', 'src', 'generated', '.schema-sha256'),
  createHash('sha256').update(schema).digest('hex'),
);
