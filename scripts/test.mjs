// `npm test`: install what is missing, then hand over to the test runner (tools/dev/src/test-runner.ts).
import { ensureNodeModules, ensurePrismaClient, ensureSystemPackages, runTypeScript } from './bootstrap.mjs';

ensureNodeModules();
ensurePrismaClient();
const needed = [];
if (!process.env.TEST_REDIS_URL) needed.push('redis-server');
if (!process.env.TEST_DATABASE_URL) needed.push('postgresql');
needed.push('prometheus');
ensureSystemPackages(needed);
await runTypeScript('tools/dev/src/test-runner.ts');
