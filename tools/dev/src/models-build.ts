import path from 'node:path';
import { loadConfig } from '@tributary/config';
import { buildModels } from '@tributary/inference';

const ROOT = path.resolve(__dirname, '../../..');

/** The model artifact folders for a configuration's DATA_DIR. */
export function modelPaths(dataDir: string): { manifestsDir: string; modelsDataDir: string } {
  return {
    manifestsDir: path.join(ROOT, 'models'),
    modelsDataDir: path.join(path.resolve(ROOT, dataDir), 'models'),
  };
}

/** `npm run models:build [-- --record]`. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const result = await buildModels({
    ...modelPaths(config.DATA_DIR),
    record: process.argv.includes('--record'),
    log: (m) => process.stdout.write(`[models] ${m}\n`),
  });
  process.stdout.write(
    `[models] built: ${result.built.join(', ') || 'none'}; up to date: ${result.upToDate.join(', ') || 'none'}\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`models:build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
