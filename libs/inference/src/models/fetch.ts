import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { artifactDir, artifactStatus, ModelArtifactError } from './artifacts';
import { modelId, type ModelManifest } from './manifest';

export interface FetchOptions {
  /** The hub's address. @defaultValue https://huggingface.co */
  baseUrl?: string;
  /** Per-file time limit. @defaultValue 600000 */
  timeoutMs?: number;
  log?: (message: string) => void;
}

/**
 * Downloads a hub model's artifacts at the manifest's pinned revision into DATA_DIR/models and
 * keeps each only if its sha256 is the pinned one. Files already present and correct are kept.
 * Without network access it fails with a message saying so and how to place the files by hand.
 */
export async function fetchHubModel(
  manifest: ModelManifest,
  modelsDataDir: string,
  options: FetchOptions = {},
): Promise<string[]> {
  const source = manifest.source;
  if (source.kind !== 'huggingface')
    throw new ModelArtifactError(`${modelId(manifest)} is built locally (npm run models:build), not fetched`);
  const base = (options.baseUrl ?? 'https://huggingface.co').replace(/\/$/, '');
  const dir = artifactDir(modelsDataDir, manifest);
  mkdirSync(dir, { recursive: true });
  const fetched: string[] = [];
  for (const status of await artifactStatus(modelsDataDir, manifest)) {
    if (status.actual === status.expected) continue;
    const artifact = manifest.artifacts.find((a) => a.file === status.file)!;
    const url = `${base}/${source.repo}/resolve/${source.revision}/${artifact.remotePath ?? artifact.file}`;
    options.log?.(`downloading ${url}`);
    let response: Response;
    try {
      response = await fetch(url, {
        signal: AbortSignal.timeout(options.timeoutMs ?? 600_000),
        redirect: 'follow',
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new ModelArtifactError(
        `${modelId(manifest)}: could not download ${url} (${cause?.code ?? cause?.message ?? (err as Error).message}). ` +
          `Hub models need network access to ${new URL(base).host}, which this machine may not have. ` +
          `To install by hand, put the file at ${status.path}; it is checked against sha256 ${status.expected}.`,
      );
    }
    if (!response.ok)
      throw new ModelArtifactError(`${modelId(manifest)}: ${url} answered HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== status.expected) {
      throw new ModelArtifactError(
        `${modelId(manifest)}: ${url} has sha256 ${sha} but the manifest pins ${status.expected}; the file was not kept.`,
      );
    }
    const tmp = path.join(dir, `${artifact.file}.part-${process.pid}`);
    writeFileSync(tmp, bytes);
    try {
      renameSync(tmp, status.path);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    fetched.push(artifact.file);
  }
  return fetched;
}
