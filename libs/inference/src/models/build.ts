import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildUseLiteOnnx, useLiteVersions, type UseLiteVersion } from '../use-lite/use-lite-models';
import { useLitePackageDir } from '../use-lite/use-lite-source';
import { artifactDir, artifactStatus, ModelArtifactError } from './artifacts';
import { modelId, readManifests, type ModelManifest } from './manifest';

export interface BuildOptions {
  /** The repository's `models/` folder (manifests). */
  manifestsDir: string;
  /** `DATA_DIR/models` (artifacts). */
  modelsDataDir: string;
  /** Write the produced checksums into the manifests instead of requiring them to match. */
  record?: boolean;
  log?: (message: string) => void;
}

function writeAtomically(file: string, bytes: Uint8Array | Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

function buildNpmTfjs(manifest: ModelManifest, dir: string): void {
  const id = modelId(manifest) as UseLiteVersion;
  if (!(id in useLiteVersions))
    throw new ModelArtifactError(`${id}: no converter recipe for this model version`);
  mkdirSync(dir, { recursive: true });
  writeAtomically(path.join(dir, 'model.onnx'), buildUseLiteOnnx(id));
  const vocab = path.join(dir, 'vocab.json');
  copyFileSync(path.join(useLitePackageDir(), 'vocab.json'), `${vocab}.tmp-${process.pid}`);
  renameSync(`${vocab}.tmp-${process.pid}`, vocab);
}

/**
 * `npm run models:build`: produces every buildable model version's artifacts under
 * DATA_DIR/models when missing or stale, and checks them against the checksums the manifests pin
 * (the converter is deterministic, so a different checksum means a different model). Hub models
 * are fetched on demand, not built.
 */
export async function buildModels(options: BuildOptions): Promise<{ built: string[]; upToDate: string[] }> {
  const log = options.log ?? (() => undefined);
  const built: string[] = [];
  const upToDate: string[] = [];
  for (const manifest of readManifests(options.manifestsDir)) {
    if (manifest.source.kind !== 'npm-tfjs') continue;
    const id = modelId(manifest);
    const dir = artifactDir(options.modelsDataDir, manifest);
    const before = await artifactStatus(options.modelsDataDir, manifest);
    if (!options.record && before.every((s) => s.actual === s.expected)) {
      upToDate.push(id);
      continue;
    }
    log(`building ${id} into ${dir}`);
    buildNpmTfjs(manifest, dir);
    const after = await artifactStatus(options.modelsDataDir, manifest);
    if (options.record) {
      const file = path.join(options.manifestsDir, manifest.name, manifest.version, 'manifest.json');
      const json = JSON.parse(readFileSync(file, 'utf8')) as ModelManifest;
      json.artifacts = json.artifacts.map((a) => ({
        ...a,
        sha256: after.find((s) => s.file === a.file)!.actual!,
      }));
      writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
      log(`recorded checksums of ${id} in ${file}`);
    } else {
      const wrong = after.filter((s) => s.actual !== s.expected);
      if (wrong.length > 0) {
        throw new ModelArtifactError(
          `${id}: the build produced ${wrong.map((w) => `${w.file} sha256 ${w.actual}`).join(', ')} but the manifest pins ${wrong.map((w) => w.expected).join(', ')}. ` +
            'The converter or its input changed; if that is intended, run `npm run models:build -- --record` and commit the manifest.',
        );
      }
    }
    built.push(id);
  }
  return { built, upToDate };
}
