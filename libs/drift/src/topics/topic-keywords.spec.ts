import { keywordTokens, topKeywords } from './topic-keywords';

describe('keywordTokens', () => {
  it('drops URLs, mentions, stopwords, numbers and short words, keeps hashtags', () => {
    expect(
      keywordTokens("RT @newsdesk: The volcano's ash cloud is over 3 towns https://t.co/x1 #Etna 2026"),
    ).toEqual(['volcano', 'ash', 'cloud', 'towns', '#etna']);
  });
});

describe('topKeywords', () => {
  it('ranks words by the texts using them, ties in code-point order, words of one text left out', () => {
    const texts = [
      'Volcano erupts, ash everywhere',
      'Ash cloud grounds flights',
      'Volcano ash closes the airport',
      'Lava flows from the volcano',
    ];
    // volcano 3, ash 3 (tie: code-point order), then nothing else is in two texts.
    expect(topKeywords(texts, 5)).toEqual(['ash', 'volcano']);
    expect(topKeywords(texts, 1)).toEqual(['ash']);
  });

  it('names a lone text by its own words', () => {
    expect(topKeywords(['Striker scores twice'], 2)).toEqual(['scores', 'striker']);
    expect(topKeywords([], 3)).toEqual([]);
  });
});
