import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '@tributary/config';
import type { ArtifactState } from '@tributary/contracts';
import {
  artifactDir,
  artifactStatus,
  modelId,
  unpinnedReason,
  type ModelManifest,
} from '@tributary/inference';

type Verify = typeof artifactStatus;

interface Cached {
  /** The files' identity when they were hashed: size, mtime, ctime and inode of each. */
  fingerprint: string;
  state: Promise<ArtifactState>;
}

/**
 * Whether each version's artifacts under DATA_DIR/models are the ones its manifest pins, for
 * `GET /v1/admin/models`. Hashing a model (tens of MB) on every request would be slow, so the
 * verdict is kept per version and recomputed only when a file's stat changes (a rebuild, a copy,
 * a tampered byte: any write moves ctime); concurrent requests share one hashing. Provided by a
 * factory in AppModule (one per process).
 */
export class ArtifactStates {
  private readonly modelsDataDir: string;
  private readonly cache = new Map<string, Cached>();

  constructor(
    config: Pick<Config, 'DATA_DIR'>,
    /** How artifacts are hashed and compared (tests count the calls). */
    private readonly verify: Verify = artifactStatus,
  ) {
    this.modelsDataDir = path.join(path.resolve(config.DATA_DIR), 'models');
  }

  async stateOf(manifest: ModelManifest): Promise<ArtifactState> {
    // A version without checksums cannot be verified and never loads (verifyArtifacts): not there.
    if (unpinnedReason(manifest)) return 'missing';
    const dir = artifactDir(this.modelsDataDir, manifest);
    const stats = await Promise.all(
      manifest.artifacts.map((a) => stat(path.join(dir, a.file)).catch(() => undefined)),
    );
    if (stats.some((s) => s === undefined)) return 'missing';
    const fingerprint = stats.map((s) => `${s!.size}:${s!.mtimeMs}:${s!.ctimeMs}:${s!.ino}`).join('|');
    const id = modelId(manifest);
    const cached = this.cache.get(id);
    if (cached?.fingerprint === fingerprint) return cached.state;
    const entry: Cached = { fingerprint, state: this.hash(manifest) };
    this.cache.set(id, entry);
    // A failed read is not a verdict: the next request tries again.
    entry.state.catch(() => {
      if (this.cache.get(id) === entry) this.cache.delete(id);
    });
    return entry.state;
  }

  private async hash(manifest: ModelManifest): Promise<ArtifactState> {
    const files = await this.verify(this.modelsDataDir, manifest);
    if (files.some((f) => f.actual === null)) return 'missing';
    return files.every((f) => f.actual === f.expected) ? 'present' : 'corrupt';
  }
}
