import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { artifactDir, artifactStatus, ModelArtifactError } from './artifacts';
import { modelId, modelManifestSchema, unpinnedReason, type ModelManifest } from './manifest';

export interface FetchOptions {
  /** The hub's address. @defaultValue https://huggingface.co */
  baseUrl?: string;
  /** Per-file time limit. @defaultValue 600000 */
  timeoutMs?: number;
  log?: (message: string) => void;
}

type HubSource = Extract<ModelManifest['source'], { kind: 'huggingface' }>;

function hubSource(manifest: ModelManifest): HubSource {
  if (manifest.source.kind !== 'huggingface')
    throw new ModelArtifactError(`${modelId(manifest)} is built locally (npm run models:build), not fetched`);
  return manifest.source;
}

function hubBase(options: FetchOptions): string {
  return (options.baseUrl ?? 'https://huggingface.co').replace(/\/$/, '');
}

/** GETs a hub URL, turning network failures into a message that says what to do offline. */
async function hubGet(
  manifest: ModelManifest,
  url: string,
  options: FetchOptions,
  offlineHint: string,
): Promise<Response> {
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
        `Hub models need network access to ${new URL(url).host}, which this machine may not have. ${offlineHint}`,
    );
  }
  if (!response.ok)
    throw new ModelArtifactError(`${modelId(manifest)}: ${url} answered HTTP ${response.status}`);
  return response;
}

function writeAtomically(file: string, bytes: Buffer): void {
  const tmp = `${file}.part-${process.pid}`;
  writeFileSync(tmp, bytes);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
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
  const source = hubSource(manifest);
  const unpinned = unpinnedReason(manifest);
  if (unpinned) throw new ModelArtifactError(unpinned);
  const base = hubBase(options);
  mkdirSync(artifactDir(modelsDataDir, manifest), { recursive: true });
  const fetched: string[] = [];
  for (const status of await artifactStatus(modelsDataDir, manifest)) {
    if (status.actual === status.expected) continue;
    const artifact = manifest.artifacts.find((a) => a.file === status.file)!;
    const url = `${base}/${source.repo}/resolve/${source.revision}/${artifact.remotePath ?? artifact.file}`;
    options.log?.(`downloading ${url}`);
    const response = await hubGet(
      manifest,
      url,
      options,
      `To install by hand, put the file at ${status.path}; it is checked against sha256 ${status.expected}.`,
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== status.expected) {
      throw new ModelArtifactError(
        `${modelId(manifest)}: ${url} has sha256 ${sha} but the manifest pins ${status.expected}; the file was not kept.`,
      );
    }
    writeAtomically(status.path, bytes);
    fetched.push(artifact.file);
  }
  return fetched;
}

export interface PinOptions extends FetchOptions {
  /** A branch, tag or commit of the hub repository. @defaultValue main */
  revision?: string;
}

/**
 * Pins a hub model version that is not pinned yet: resolves `revision` to a commit through the
 * hub's API, downloads every artifact at that commit into DATA_DIR/models, and writes the commit,
 * each file's sha256 and size into `manifestFile`. A pinned version is immutable, so pinning one
 * again is refused (describe the new files as a new version instead).
 */
export async function pinHubModel(
  manifestFile: string,
  modelsDataDir: string,
  options: PinOptions = {},
): Promise<ModelManifest> {
  const raw = JSON.parse(readFileSync(manifestFile, 'utf8')) as unknown;
  const manifest = modelManifestSchema.parse(raw);
  const source = hubSource(manifest);
  if (!unpinnedReason(manifest)) {
    throw new ModelArtifactError(
      `${modelId(manifest)} is already pinned (revision ${source.revision}); model versions are immutable, so describe other files as a new version`,
    );
  }
  const base = hubBase(options);
  const wanted = options.revision ?? 'main';
  const apiUrl = `${base}/api/models/${source.repo}/revision/${encodeURIComponent(wanted)}`;
  options.log?.(`resolving ${source.repo}@${wanted}`);
  const info = (await (
    await hubGet(manifest, apiUrl, options, 'Pin it where the hub is reachable.')
  ).json()) as {
    sha?: unknown;
  };
  if (typeof info.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha))
    throw new ModelArtifactError(`${modelId(manifest)}: ${apiUrl} named no commit (sha)`);
  const commit = info.sha;
  const dir = artifactDir(modelsDataDir, manifest);
  mkdirSync(dir, { recursive: true });
  const artifacts: ModelManifest['artifacts'] = [];
  for (const artifact of manifest.artifacts) {
    const url = `${base}/${source.repo}/resolve/${commit}/${artifact.remotePath ?? artifact.file}`;
    options.log?.(`downloading ${url}`);
    const bytes = Buffer.from(
      await (await hubGet(manifest, url, options, 'Pin it where the hub is reachable.')).arrayBuffer(),
    );
    writeAtomically(path.join(dir, artifact.file), bytes);
    artifacts.push({
      ...artifact,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    });
  }
  const pinned = modelManifestSchema.parse({
    ...manifest,
    source: { ...source, revision: commit },
    artifacts,
  });
  writeFileSync(manifestFile, `${JSON.stringify(pinned, null, 2)}\n`);
  return pinned;
}
