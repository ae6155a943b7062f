import { buildUseLiteOnnx, loadUseLiteTokenizer } from './use-lite-models';
import { UseLiteEmbedder } from './use-lite-embedder';

describe('UseLiteEmbedder', () => {
  let embedder: UseLiteEmbedder;
  beforeAll(async () => {
    embedder = await UseLiteEmbedder.create(buildUseLiteOnnx('use-lite@1'), loadUseLiteTokenizer());
  }, 60_000);
  afterAll(() => embedder.release());

  const maxDiff = (a: Float32Array, b: Float32Array) =>
    Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

  it('returns one vector per input, in input order, even when empty inputs end the batch', async () => {
    const texts = ['A man is eating food.', '', 'A man is riding a horse.', ''];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(4);
    const [food] = await embedder.embed(['A man is eating food.']);
    const [horse] = await embedder.embed(['A man is riding a horse.']);
    expect(maxDiff(vectors[0]!, food!)).toBeLessThan(1e-5);
    expect(maxDiff(vectors[2]!, horse!)).toBeLessThan(1e-5);
    expect(maxDiff(vectors[1]!, vectors[3]!)).toBeLessThan(1e-6);
    expect(Math.hypot(...Array.from(vectors[1]!))).toBeCloseTo(1, 5);
  });

  it('handles a batch of only empty inputs and an empty batch', async () => {
    expect(await embedder.embed([])).toEqual([]);
    const [a, b] = await embedder.embed(['', '']);
    expect(maxDiff(a!, b!)).toBe(0);
  });
});
