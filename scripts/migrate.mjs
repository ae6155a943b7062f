// `npm run db:migrate`: install what is missing, then apply migrations (tools/dev/src/migrate.ts).
import { ensureNodeModules, ensurePrismaClient, runTypeScript } from './bootstrap.mjs';

ensureNodeModules();
ensurePrismaClient();
await runTypeScript('tools/dev/src/migrate.ts');
