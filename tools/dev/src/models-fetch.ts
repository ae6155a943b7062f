import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { loadConfig } from '@tributary/config';
import { fetchHubModel, modelId, pinHubModel, readManifests, unpinnedReason } from '@tributary/inference';
import { modelPaths } from './models-build';

const USAGE = 'usage: npm run models:fetch -- <name@version> ... [--pin [--revision <branch|tag|commit>]]';

/**
 * `npm run models:fetch -- <name@version> ...`: downloads hub-hosted model versions at their
 * pinned revision, keeping only files whose sha256 matches the manifest. With `--pin`, a version
 * whose manifest has no revision or checksums yet is resolved on the hub (`--revision`, default
 * main), downloaded, and its commit, checksums and sizes are written into the manifest for review.
 * `HF_ENDPOINT` points at a mirror of the hub.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const { manifestsDir, modelsDataDir } = modelPaths(config.DATA_DIR);
  const args = process.argv.slice(2);
  const pin = args.includes('--pin');
  const revisionAt = args.indexOf('--revision');
  const revision = revisionAt >= 0 ? args[revisionAt + 1] : undefined;
  if (revisionAt >= 0 && (!revision || revision.startsWith('--')))
    throw new Error(`--revision needs a value; ${USAGE}`);
  const wanted = args.filter((a, i) => !a.startsWith('--') && (revisionAt < 0 || i !== revisionAt + 1));
  const hub = readManifests(manifestsDir).filter((m) => m.source.kind === 'huggingface');
  const describe = () =>
    hub.map((m) => `${modelId(m)}${unpinnedReason(m) ? ' (not pinned yet)' : ''}`).join(', ');
  if (wanted.length === 0) throw new Error(`name the models to fetch; hub models: ${describe()}. ${USAGE}`);
  const baseUrl = process.env['HF_ENDPOINT'];
  const log = (m: string) => process.stdout.write(`[models] ${m}\n`);
  for (const id of wanted) {
    const manifest = hub.find((m) => modelId(m) === id);
    if (!manifest) throw new Error(`${id} is not a hub model; hub models: ${describe()}`);
    if (pin) {
      const file = path.join(manifestsDir, manifest.name, manifest.version, 'manifest.json');
      const pinned = await pinHubModel(file, modelsDataDir, {
        ...(baseUrl ? { baseUrl } : {}),
        ...(revision ? { revision } : {}),
        log,
      });
      // Keep the manifest in the repository's format so `npm test`'s format check stays green.
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, await format(text, { ...(await resolveConfig(file)), filepath: file }));
      const source = pinned.source.kind === 'huggingface' ? pinned.source : undefined;
      log(`${id}: pinned to ${source?.repo}@${source?.revision}; review ${file} and commit it`);
      continue;
    }
    const fetched = await fetchHubModel(manifest, modelsDataDir, { ...(baseUrl ? { baseUrl } : {}), log });
    log(`${id}: ${fetched.length ? `fetched ${fetched.join(', ')}` : 'already present'}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`models:fetch: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
