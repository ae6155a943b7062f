// `npm run db:generate` (also the postinstall step): generates the Prisma client into libs/db and
// records which schema it was generated from, so the set-up scripts regenerate only when needed.
// Generating reads no database, but Prisma 6 wants DATABASE_URL to be set: a placeholder serves.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// A production install (the image's runtime stage, `npm ci --omit=dev`) has no sources to generate
// the client into: the compiled client ships in dist/ (`npm run build`).
if (!existsSync(path.join(ROOT, 'libs', 'db', 'src'))) {
  process.stdout.write('[generate] no libs/db sources here (a production install): nothing to generate\n');
  process.exit(0);
}
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
// Run as npm's postinstall, a plain `npm ci` (the image's build stage, say) just installed
// node_modules from this lock: record it as the set-up scripts do (bootstrap.mjs), so the next
// repository command does not install everything again.
if (process.env.npm_lifecycle_event === 'postinstall') {
  writeFileSync(
    path.join(ROOT, 'node_modules', '.tributary-lock-sha256'),
    createHash('sha256')
      .update(readFileSync(path.join(ROOT, 'package-lock.json')))
      .digest('hex'),
  );
}
