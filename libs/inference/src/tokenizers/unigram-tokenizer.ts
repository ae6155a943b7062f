/** One vocabulary entry: the piece and its log-probability score. Index = token id. */
export type VocabEntry = [piece: string, score: number];

const SEPARATOR = '\u2581';
const UNKNOWN_ID = 0;

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Token id when a piece ends here. */
  id?: number;
  score?: number;
}

interface Candidate {
  start: number;
  id: number;
  score: number;
  length: number;
}

/**
 * The SentencePiece unigram tokenizer of Universal Sentence Encoder lite, reproducing the
 * publisher's TF.js tokenizer token for token (that tokenizer defines the model's input):
 * NFKC, a leading "▁" and spaces turned into "▁", then a Viterbi search over piece scores.
 *
 * Its tie-breaking is kept on purpose: among paths with equal score the later candidate wins, an
 * unscored position (best = 0) always takes the next candidate, a code point no piece starts with
 * becomes the unknown id 0 with score 0, and runs of unknown ids collapse into one.
 */
export class UnigramTokenizer {
  private readonly root: TrieNode = { children: new Map() };

  constructor(
    private readonly vocabulary: readonly VocabEntry[],
    /** Leading ids that are control symbols, never produced from text. @defaultValue 6 */
    reservedCount = 6,
  ) {
    for (let id = reservedCount; id < vocabulary.length; id++) {
      const [piece, score] = vocabulary[id]!;
      let node = this.root;
      for (const symbol of piece) {
        let next = node.children.get(symbol);
        if (!next) {
          next = { children: new Map() };
          node.children.set(symbol, next);
        }
        node = next;
      }
      node.id = id;
      node.score = score;
    }
  }

  /** The text as the model sees it before segmentation. */
  static normalize(text: string): string {
    const normalized = text.normalize('NFKC');
    return normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized;
  }

  encode(text: string): number[] {
    const symbols = Array.from(UnigramTokenizer.normalize(text));
    const n = symbols.length;
    // ending[e] lists the pieces that end at position e, by ascending start.
    const ending: Candidate[][] = Array.from({ length: n + 1 }, () => []);
    for (let start = 0; start < n; start++) {
      let node: TrieNode | undefined = this.root.children.get(symbols[start]!);
      let matched = false;
      for (let end = start + 1; node; end++) {
        if (node.id !== undefined) {
          ending[end]!.push({ start, id: node.id, score: node.score!, length: end - start });
          matched = true;
        }
        node = end < n ? node.children.get(symbols[end]!) : undefined;
      }
      if (!matched) ending[start + 1]!.push({ start, id: UNKNOWN_ID, score: 0, length: 1 });
    }
    for (const list of ending) list.sort((a, b) => a.start - b.start);

    const best = new Float64Array(n + 1);
    const word = new Int32Array(n + 1);
    for (let end = 0; end <= n; end++) {
      for (const c of ending[end]!) {
        const score = c.score + best[end - c.length]!;
        if (best[end] === 0 || score >= best[end]!) {
          best[end] = score;
          word[end] = c.id;
        }
      }
    }

    const reversed: number[] = [];
    for (let at = n; at > 0;) {
      const id = word[at]!;
      reversed.push(id);
      at -= this.vocabulary[id]![0].length;
    }
    const ids: number[] = [];
    for (let i = reversed.length - 1; i >= 0; i--) {
      const id = reversed[i]!;
      if (id === UNKNOWN_ID && ids.length > 0 && ids[ids.length - 1] === UNKNOWN_ID) continue;
      ids.push(id);
    }
    return ids;
  }
}
