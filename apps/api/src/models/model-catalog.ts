import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { modelId, readManifests, type ModelManifest } from '@tributary/inference';

/** Every model version the registry (`models/`) describes, whether or not this process serves it. */
@Injectable()
export class ModelCatalog {
  private readonly manifests: Map<string, ModelManifest>;

  constructor(@Inject(CONFIG) config: Config) {
    this.manifests = new Map(
      readManifests(path.resolve(config.MODEL_MANIFESTS_DIR)).map((m) => [modelId(m), m]),
    );
  }

  has(id: string): boolean {
    return this.manifests.has(id);
  }

  ids(): string[] {
    return [...this.manifests.keys()];
  }

  get(id: string): ModelManifest | undefined {
    return this.manifests.get(id);
  }

  /** Every manifest, ordered by id. */
  all(): ModelManifest[] {
    return [...this.manifests.values()];
  }
}
