import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  buildUseLiteOnnx,
  evaluateSts,
  loadUseLiteTokenizer,
  readStsPairs,
  UseLiteEmbedder,
  useLiteVersions,
  type StsResult,
  type UseLiteVersion,
} from '@tributary/inference';

const ROOT = path.resolve(__dirname, '../../..');
export const DEFAULT_STSB = path.resolve(ROOT, '../shared/data/stsb/sts-dev.csv');

/** Scores one model version on an STS Benchmark file: cosine similarity vs human scores. */
export async function evalStsb(file: string, model: UseLiteVersion): Promise<StsResult & { model: string }> {
  if (!existsSync(file)) {
    throw new Error(
      `STS-B file not found: ${file}. It ships in the shared/ folder beside the repository (shared/data/stsb/sts-dev.csv); pass another path as the first argument.`,
    );
  }
  const embedder = await UseLiteEmbedder.create(buildUseLiteOnnx(model), loadUseLiteTokenizer(), {
    intraOpThreads: 2,
  });
  try {
    return { model, ...(await evaluateSts(readStsPairs(file), (texts) => embedder.embed(texts))) };
  } finally {
    await embedder.release();
  }
}

/** `npm run eval:stsb -- [file] [--model use-lite@1]`: prints {pairs, spearman, pearson, model}. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const modelAt = args.indexOf('--model');
  const model = (modelAt >= 0 ? args[modelAt + 1] : 'use-lite@1') as UseLiteVersion;
  if (!(model in useLiteVersions)) {
    throw new Error(`unknown model ${model}; known: ${Object.keys(useLiteVersions).join(', ')}`);
  }
  const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--model') ?? DEFAULT_STSB;
  process.stdout.write(`${JSON.stringify(await evalStsb(path.resolve(file), model))}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  main().catch((err: unknown) => {
    process.stderr.write(`eval:stsb: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
