import { readFileSync } from 'node:fs';
import { prepareBertBatch } from '../bert/bert-runtime';
import { WordPieceTokenizer } from '../bert/wordpiece-tokenizer';
import { modelId, type ModelManifest } from '../models/manifest';
import { UnigramTokenizer, type VocabEntry } from '../tokenizers/unigram-tokenizer';
import { prepareUseLiteBatch, tokenizeUseLite, type PreparedBatch } from '../use-lite/use-lite-runtime';

/** Whether a text is a search query or a document (models such as e5 prefix them differently). */
export type InputType = 'query' | 'passage';

/** What the engine needs to know to serve one model family. */
export interface ModelRuntime {
  /** The graph output holding the embeddings (or the hidden states to pool). */
  outputName: string;
  tokenize(text: string, inputType: InputType): { ids: number[]; truncated: boolean };
  prepare(rows: readonly (readonly number[])[]): PreparedBatch;
  /** A small batch every session runs once at start. */
  warmupRows: number[][];
}

/** The runtime for a manifest, given the verified paths of its artifacts. */
export function createModelRuntime(manifest: ModelManifest, files: Record<string, string>): ModelRuntime {
  const tokenizerFile = files[manifest.tokenizer.file];
  if (!tokenizerFile)
    throw new Error(
      `${modelId(manifest)}: tokenizer file ${manifest.tokenizer.file} is not among its artifacts`,
    );
  const prefix = (inputType: InputType) => manifest.prefixes?.[inputType] ?? '';
  switch (manifest.tokenizer.kind) {
    case 'sentencepiece-unigram': {
      const tokenizer = new UnigramTokenizer(JSON.parse(readFileSync(tokenizerFile, 'utf8')) as VocabEntry[]);
      return {
        outputName: 'embeddings',
        tokenize: (text, inputType) =>
          tokenizeUseLite(tokenizer, prefix(inputType) + text, manifest.maxTokens),
        prepare: (rows) => prepareUseLiteBatch(rows, manifest.dimensions),
        warmupRows: [tokenizer.encode('warm up')],
      };
    }
    case 'wordpiece': {
      if (manifest.pooling !== 'mean' && manifest.pooling !== 'cls') {
        throw new Error(`${modelId(manifest)}: a WordPiece model needs pooling "mean" or "cls"`);
      }
      const pooling = manifest.pooling;
      const tokenizer = WordPieceTokenizer.fromFiles(tokenizerFile, files['tokenizer_config.json']);
      const tokenTypeIds = manifest.inputs?.includes('token_type_ids') ?? true;
      return {
        outputName: 'last_hidden_state',
        tokenize: (text, inputType) => tokenizer.encode(prefix(inputType) + text, manifest.maxTokens),
        prepare: (rows) => prepareBertBatch(rows, { dimensions: manifest.dimensions, pooling, tokenTypeIds }),
        warmupRows: [tokenizer.encode('warm up', manifest.maxTokens).ids],
      };
    }
  }
}
