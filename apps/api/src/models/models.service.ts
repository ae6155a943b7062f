import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import {
  DomainError,
  type AdminModelList,
  type AdminModelView,
  type ModelList,
  type ModelView,
} from '@tributary/contracts';
import { modelId, type ModelInfo, type ModelManifest } from '@tributary/inference';
import { EngineService } from '../embeddings/engine.service';
import { ArtifactStates } from './artifact-states';
import { LoadedModelsReader } from './loaded-models.reader';
import { ModelCatalog } from './model-catalog';

/**
 * The model versions as clients see them (`GET /v1/models`: those this API's engine serves, in
 * OpenAI's shape) and as operators do (`GET /v1/admin/models`: every registered version and its
 * state on this deployment).
 */
@Injectable()
export class ModelsService {
  /** This API process, as `loadedBy` names it (workers name themselves in their heartbeat). */
  private readonly instance = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    private readonly engines: EngineService,
    private readonly catalog: ModelCatalog,
    private readonly artifacts: ArtifactStates,
    private readonly loaded: LoadedModelsReader,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  list(): ModelList {
    return { object: 'list', data: this.engines.engine.models().map((m) => this.toModel(m)) };
  }

  /** One served version; any other id (registered but not served here, or unknown) is a 404 as at OpenAI. */
  retrieve(id: string): ModelView {
    const model = this.engines.engine.model(id);
    if (!model) {
      const served = this.engines.engine.models().map((m) => m.id);
      throw new DomainError(
        'not_found',
        `The model ${id} does not exist or is not served here; served: ${served.join(', ')}`,
      );
    }
    return this.toModel(model);
  }

  async registry(): Promise<AdminModelList> {
    const workers = await this.loaded.workers();
    const inApi = new Set(this.engines.engine.models().map((m) => m.id));
    const configured = new Set(this.config.MODELS);
    const data = await Promise.all(
      this.catalog.all().map(async (manifest): Promise<AdminModelView> => {
        const id = modelId(manifest);
        return {
          ...manifestFacts(manifest),
          configured: configured.has(id),
          artifacts: await this.artifacts.stateOf(manifest),
          loadedBy: [
            ...(inApi.has(id) ? [{ app: 'api' as const, instance: this.instance }] : []),
            ...workers
              .filter((w) => w.app === 'worker' && w.models.includes(id))
              .map((w) => ({ app: 'worker' as const, instance: w.instance })),
          ],
        };
      }),
    );
    return { data };
  }

  private toModel(model: ModelInfo): ModelView {
    // Every served model has a manifest: the engine loads them from the same registry.
    const manifest = this.catalog.get(model.id)!;
    return {
      id: model.id,
      object: 'model',
      created: Math.floor(Date.parse(manifest.created) / 1000),
      owned_by: 'tributary',
      dimensions: model.dimensions,
      maxTokens: model.maxTokens,
      quantization: manifest.quantization,
    };
  }
}

function manifestFacts(m: ModelManifest) {
  return {
    id: modelId(m),
    name: m.name,
    version: m.version,
    created: m.created,
    description: m.description,
    license: m.license,
    dimensions: m.dimensions,
    maxTokens: m.maxTokens,
    quantization: m.quantization,
    tokenizer: m.tokenizer.kind,
    pooling: m.pooling,
    source: m.source.kind,
  };
}
