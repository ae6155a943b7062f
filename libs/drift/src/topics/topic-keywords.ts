// Keywords that name a topic for a person skimming the trends: the words most of its sample texts
// share. Deliberately plain (document frequency over a handful of texts, English stopwords): the
// topic itself comes from the embeddings, the words only label it.

/** Common English function words, and the tweet noise ("rt", "amp", "via") that would top every list. */
const STOPWORDS = new Set(
  (
    'about above after again against all also and any are aren because been before being below between ' +
    'both but can cannot could did didn does doesn doing don down during each few for from further get ' +
    'got had hadn has hasn have haven having her here hers herself him himself his how into isn its ' +
    'itself just let more most mustn myself nor not now off once only other ought our ours ourselves ' +
    'out over own same shan she should shouldn some such than that the their theirs them themselves ' +
    'then there these they this those through too under until very was wasn were weren what when where ' +
    'which while who whom why will with won would wouldn you your yours yourself yourselves amp via ' +
    'rt im ive youre dont cant wont'
  ).split(' '),
);

const URL = /\bhttps?:\/\/\S+|\bwww\.\S+/gu;
const MENTION = /@[\p{L}\p{N}_]+/gu;
const TOKEN = /#?[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** The words of `text` that could name a topic: lower-cased, without URLs, mentions, stopwords, numbers, or words under 3 letters. */
export function keywordTokens(text: string): string[] {
  const words: string[] = [];
  for (const match of text.toLowerCase().replace(URL, ' ').replace(MENTION, ' ').matchAll(TOKEN)) {
    const word = match[0].replace(/['’]s$/u, '').replace(/['’]/gu, '');
    const bare = word.startsWith('#') ? word.slice(1) : word;
    if (bare.length < 3 || /^\p{N}+$/u.test(bare) || STOPWORDS.has(bare)) continue;
    words.push(word);
  }
  return words;
}

/**
 * The `limit` words found in the most of `texts` (each text counts a word once), most common
 * first, ties in code-point order so the same texts always give the same list. With two or more
 * texts a word must be in at least two of them: a word only one text uses does not name a topic.
 */
export function topKeywords(texts: readonly string[], limit: number): string[] {
  const documents = new Map<string, number>();
  for (const text of texts) {
    for (const word of new Set(keywordTokens(text))) documents.set(word, (documents.get(word) ?? 0) + 1);
  }
  const minDocuments = texts.length >= 2 ? 2 : 1;
  return [...documents]
    .filter(([, n]) => n >= minDocuments)
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit)
    .map(([word]) => word);
}
