import { readFileSync } from 'node:fs';
import { cosineSimilarity, pearson, spearman } from './correlation';

export interface StsPair {
  score: number;
  sentence1: string;
  sentence2: string;
}

/**
 * Reads an STS Benchmark file: tab-separated genre, file, year, id, score, sentence1, sentence2
 * (split on tabs only: sentences contain quote characters a CSV reader would mangle).
 */
export function readStsPairs(file: string): StsPair[] {
  const pairs: StsPair[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const fields = line.split('\t');
      const score = Number(fields[4]);
      if (fields.length < 7 || !Number.isFinite(score)) {
        throw new Error(`${file}:${i + 1}: expected 7 tab-separated fields with a numeric score`);
      }
      pairs.push({ score, sentence1: fields[5]!, sentence2: fields[6]! });
    });
  return pairs;
}

export interface StsResult {
  pairs: number;
  spearman: number;
  pearson: number;
}

/** Correlates cosine similarities of embedded pairs with the human scores. */
export async function evaluateSts(
  pairs: readonly StsPair[],
  embed: (texts: string[]) => Promise<Float32Array[]>,
  batchSize = 64,
): Promise<StsResult> {
  const cosines: number[] = [];
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const a = await embed(chunk.map((p) => p.sentence1));
    const b = await embed(chunk.map((p) => p.sentence2));
    chunk.forEach((_, j) => cosines.push(cosineSimilarity(a[j]!, b[j]!)));
  }
  const scores = pairs.map((p) => p.score);
  return { pairs: pairs.length, spearman: spearman(cosines, scores), pearson: pearson(cosines, scores) };
}
