import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { modelId, unpinnedReason, type ModelManifest } from './manifest';

/** A model artifact is missing, or its bytes are not the ones the manifest pins. */
export class ModelArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelArtifactError';
  }
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** The folder holding one model version's artifacts. */
export function artifactDir(modelsDataDir: string, manifest: ModelManifest): string {
  return path.join(modelsDataDir, manifest.name, manifest.version);
}

export interface ArtifactStatus {
  file: string;
  path: string;
  /** The pinned sha256; null while the manifest is not pinned. */
  expected: string | null;
  actual: string | null;
}

/** The sha256 of each artifact on disk next to the pinned one (null when missing). */
export async function artifactStatus(
  modelsDataDir: string,
  manifest: ModelManifest,
): Promise<ArtifactStatus[]> {
  const dir = artifactDir(modelsDataDir, manifest);
  return Promise.all(
    manifest.artifacts.map(async (a) => {
      const file = path.join(dir, a.file);
      return {
        file: a.file,
        path: file,
        expected: a.sha256 ?? null,
        actual: existsSync(file) ? await sha256File(file) : null,
      };
    }),
  );
}

/**
 * Refuses to load a model whose artifacts are missing or differ from the manifest, naming the
 * file, both checksums and the command that rebuilds it.
 */
export async function verifyArtifacts(
  modelsDataDir: string,
  manifest: ModelManifest,
): Promise<Record<string, string>> {
  const unpinned = unpinnedReason(manifest);
  if (unpinned) throw new ModelArtifactError(`${unpinned} Until then it does not load.`);
  const paths: Record<string, string> = {};
  for (const status of await artifactStatus(modelsDataDir, manifest)) {
    if (status.actual === null) {
      throw new ModelArtifactError(
        `${modelId(manifest)}: artifact ${status.path} is missing; run \`npm run models:build\` to produce it.`,
      );
    }
    if (status.actual !== status.expected) {
      throw new ModelArtifactError(
        `${modelId(manifest)}: artifact ${status.path} has sha256 ${status.actual} but the manifest pins ${status.expected}; refusing to load it. Rebuild with \`npm run models:build\`.`,
      );
    }
    paths[status.file] = status.path;
  }
  return paths;
}
