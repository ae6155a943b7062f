import path from 'node:path';
import { loadConfig } from '@tributary/config';
import { fetchHubModel, modelId, readManifests } from '@tributary/inference';
import { modelPaths } from './models-build';

/**
 * `npm run models:fetch -- <name@version> ...`: downloads hub-hosted model versions at their
 * pinned revision, keeping only files whose sha256 matches the manifest. `HF_ENDPOINT` points at a
 * mirror of the hub.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { manifestsDir, modelsDataDir } = modelPaths(config.DATA_DIR);
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const hub = readManifests(manifestsDir).filter((m) => m.source.kind === 'huggingface');
  if (wanted.length === 0)
    throw new Error(`name the models to fetch; hub models: ${hub.map(modelId).join(', ')}`);
  for (const id of wanted) {
    const manifest = hub.find((m) => modelId(m) === id);
    if (!manifest) throw new Error(`${id} is not a hub model; hub models: ${hub.map(modelId).join(', ')}`);
    const fetched = await fetchHubModel(manifest, modelsDataDir, {
      ...(process.env['HF_ENDPOINT'] ? { baseUrl: process.env['HF_ENDPOINT'] } : {}),
      log: (m) => process.stdout.write(`[models] ${m}\n`),
    });
    process.stdout.write(
      `[models] ${id}: ${fetched.length ? `fetched ${fetched.join(', ')}` : 'already present'}\n`,
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`models:fetch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
