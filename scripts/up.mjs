// `npm run up`: install what is missing, then hand over to the launcher (tools/dev/src/launcher.ts).
import { ensureNodeModules, ensurePrismaClient, ensureSystemPackages, runTypeScript } from './bootstrap.mjs';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`Node ${process.versions.node} is too old: Tributary needs Node 20.19 or newer.\n`);
  process.exit(1);
}
ensureNodeModules();
ensurePrismaClient();
if (!process.env.REDIS_URL) ensureSystemPackages(['redis-server']);
await runTypeScript('tools/dev/src/launcher.ts');
