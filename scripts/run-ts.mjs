// Runs a TypeScript entry point of this repository after the usual set-up (npm packages, Prisma client).
import { ensureNodeModules, ensurePrismaClient, runTypeScript } from './bootstrap.mjs';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/run-ts.mjs <entry.ts> [args...]\n');
  process.exit(2);
}
ensureNodeModules();
ensurePrismaClient();
process.argv = [process.argv[0], entry, ...rest];
await runTypeScript(entry);
