import { readFileSync, existsSync } from 'node:fs';
/** The part of `@huggingface/tokenizers`' Tokenizer this wrapper uses. */
interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  token_to_id(token: string): number | undefined;
}

// The package ships a CommonJS build (its `node.require` export) but only ESM type declarations,
// which a CommonJS module cannot import; the interface above states what is relied on.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer } = require('@huggingface/tokenizers') as {
  Tokenizer: new (json: object, config: object) => HfTokenizer;
};

/**
 * BERT-family tokenization (WordPiece, with the normalizer, pre-tokenizer and [CLS]/[SEP]
 * template the model's own `tokenizer.json` declares), via Hugging Face's tokenizers.
 */
export class WordPieceTokenizer {
  private readonly sepId: number | undefined;

  constructor(private readonly tokenizer: HfTokenizer) {
    this.sepId = tokenizer.token_to_id('[SEP]');
  }

  static fromFiles(tokenizerJson: string, tokenizerConfig?: string): WordPieceTokenizer {
    const json = JSON.parse(readFileSync(tokenizerJson, 'utf8')) as object;
    const config =
      tokenizerConfig && existsSync(tokenizerConfig)
        ? (JSON.parse(readFileSync(tokenizerConfig, 'utf8')) as object)
        : {};
    return new WordPieceTokenizer(new Tokenizer(json, config));
  }

  /** Token ids with special tokens; cut to `maxTokens`, keeping the closing [SEP]. */
  encode(text: string, maxTokens: number): { ids: number[]; truncated: boolean } {
    const ids = this.tokenizer.encode(text, { add_special_tokens: true }).ids;
    if (ids.length <= maxTokens) return { ids, truncated: false };
    const cut = ids.slice(0, maxTokens);
    if (this.sepId !== undefined) cut[maxTokens - 1] = this.sepId;
    return { ids: cut, truncated: true };
  }
}
