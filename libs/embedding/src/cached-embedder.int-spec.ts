import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  EmbeddingEngine,
  InferenceDeadlineError,
  InferenceOverloadedError,
  type InputType,
} from '@tributary/inference';
import { Metrics } from '@tributary/observability';
import { createRedis, waitForRedis, type Redis } from '@tributary/redis';
import { CachedEmbedder, EmbedInputError, type EmbedEngine } from './cached-embedder';
import { EmbeddingCache, type EmbeddingCacheOptions } from './embedding-cache';

const MODEL = 'use-lite@1';
const root = path.resolve(__dirname, '../../..');
// @tributary/testing depends on this library's tier, so the Redis of the test run is read directly.
const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** A text no tokenizer in the test engine can take (see `untokenizable` below). */
const UNTOKENIZABLE = 'this text stands for one the tokenizer throws on';
const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');

const maxDiff = (a: Float32Array, b: Float32Array) =>
  Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

describe('CachedEmbedder (real engine with use-lite@1, real Redis)', () => {
  let engine: EmbeddingEngine;
  let redis: Redis;
  let down: Redis;
  let options: EmbeddingCacheOptions;

  beforeAll(async () => {
    // The integration run's global setup builds the models into .data/models.
    engine = await EmbeddingEngine.start({
      manifestsDir: path.join(root, 'models'),
      modelsDataDir: path.join(root, '.data', 'models'),
      models: [MODEL],
      batching: { maxWaitMs: 1, maxQueuedRows: 8, minShareRows: 8 },
    });
    redis = createRedis(redisUrl, 'producer', 'cached-embedder-spec');
    await waitForRedis(redis);
    // A connection closed on purpose: every command on it fails at once, as when Redis is away.
    down = createRedis(redisUrl, 'producer', 'cached-embedder-spec-down');
    await waitForRedis(down);
    await down.quit();
  }, 60_000);
  afterAll(async () => {
    redis.disconnect();
    await engine.close();
  });

  beforeEach(() => {
    options = {
      prefix: `t${randomBytes(5).toString('hex')}`,
      ttlSeconds: 600,
      format: 'float32',
      scope: 'tenant',
    };
  });

  /** The engine's own output for the texts, tokenized and inferred directly. */
  const direct = async (texts: string[], inputType: InputType = 'passage') =>
    engine.embedRows(MODEL, engine.tokenize(MODEL, texts, inputType).rows, Date.now() + 30_000);

  const inputsOf = (texts: string[], tenantId = 'tenant-a') => texts.map((text) => ({ tenantId, text }));

  /**
   * The real engine, counting tokenize calls, with {@link UNTOKENIZABLE} handed to its tokenizer as
   * a value it throws on (no string makes today's tokenizers throw), so the engine's own isolation
   * of a bad text is what the embedder sees.
   */
  function countingEngine(on: EmbeddingEngine = engine): EmbedEngine & { tokenizeCalls: number } {
    const wrapped = {
      tokenizeCalls: 0,
      model: (id: string) => on.model(id),
      embedRows: (...args: Parameters<EmbeddingEngine['embedRows']>) => on.embedRows(...args),
      tokenizeEach(id: string, texts: readonly string[], inputType?: InputType) {
        wrapped.tokenizeCalls++;
        const bad = Symbol('not text') as unknown as string;
        return on.tokenizeEach(
          id,
          texts.map((t) => (t === UNTOKENIZABLE ? bad : t)),
          inputType,
        );
      },
    };
    return wrapped;
  }

  it('computes what the engine computes, then serves it from the cache: misses, hits, partial', async () => {
    const metrics = new Metrics('spec');
    const counted = countingEngine();
    const embedder = new CachedEmbedder(counted, new EmbeddingCache(redis, options), { metrics });
    const texts = ['A man is eating food.', 'A man is riding a horse.', 'The weather is fine.'];
    const expected = await direct(texts, 'query');
    const request = { model: MODEL, inputType: 'query' as const, deadline: Date.now() + 30_000 };

    const first = await embedder.embed({ ...request, inputs: inputsOf(texts) });
    expect(first.cached).toBe(0);
    expect(first.errors).toEqual([undefined, undefined, undefined]);
    first.vectors.forEach((v, i) => expect(maxDiff(v!, expected[i]!)).toBeLessThan(1e-6));
    expect(first.tokens).toBe(engine.tokenize(MODEL, texts, 'query').tokens);
    expect(first.truncated).toEqual([]);

    const second = await embedder.embed({ ...request, inputs: inputsOf(texts) });
    expect(second.cached).toBe(3);
    // float32 entries are exact, and token counts cover cached inputs too.
    expect(second.vectors).toEqual(first.vectors);
    expect(second.tokens).toBe(first.tokens);

    const mixed = await embedder.embed({ ...request, inputs: inputsOf([texts[1]!, 'Something new.']) });
    expect(mixed.cached).toBe(1);
    expect(mixed.vectors[0]).toEqual(first.vectors[1]);
    expect(maxDiff(mixed.vectors[1]!, (await direct(['Something new.'], 'query'))[0]!)).toBeLessThan(1e-6);

    // One tokenize call per batch, whatever its size.
    expect(counted.tokenizeCalls).toBe(3);
    expect((await metrics.cacheHits.get()).values).toEqual([{ labels: { model: MODEL }, value: 4 }]);
    expect((await metrics.cacheMisses.get()).values).toEqual([{ labels: { model: MODEL }, value: 4 }]);

    // Another input type is another entry.
    expect((await embedder.embed({ ...request, inputType: 'passage', inputs: inputsOf(texts) })).cached).toBe(
      0,
    );
  });

  it('fails a blank or untokenizable input alone, the rest of the batch embedded in one tokenize call', async () => {
    const counted = countingEngine();
    const embedder = new CachedEmbedder(counted, new EmbeddingCache(redis, options));
    const texts = ['first good text', ' \u0007  ', UNTOKENIZABLE, long, 'last good text'];
    const result = await embedder.embed({
      model: MODEL,
      inputType: 'passage',
      inputs: inputsOf(texts),
      deadline: Date.now() + 30_000,
    });
    expect(counted.tokenizeCalls).toBe(1);
    expect(result.errors[0]).toBeUndefined();
    expect(result.errors[1]).toEqual(expect.any(EmbedInputError));
    expect(result.errors[1]).toMatchObject({
      reason: 'empty_text',
      message: 'text is empty after normalisation (only spaces or control characters)',
    });
    expect(result.errors[2]).toMatchObject({
      reason: 'untokenizable',
      message: expect.stringMatching(/^cannot tokenize: .*Symbol/),
    });
    expect(result.errors.slice(3)).toEqual([undefined, undefined]);
    expect(result.vectors[1]).toBeUndefined();
    expect(result.vectors[2]).toBeUndefined();
    const good = [texts[0]!, texts[3]!, texts[4]!];
    const expected = await direct(good);
    [0, 3, 4].forEach((index, k) => expect(maxDiff(result.vectors[index]!, expected[k]!)).toBeLessThan(1e-6));
    // Indices are the inputs', not the tokenized texts'.
    expect(result.truncated).toEqual([3]);
    expect(result.tokens).toBe(engine.tokenize(MODEL, good).tokens);
    expect(result.cached).toBe(0);

    // Only the good inputs were cached.
    const again = await embedder.embed({
      model: MODEL,
      inputType: 'passage',
      inputs: inputsOf(texts),
      deadline: Date.now() + 30_000,
    });
    expect(again.cached).toBe(3);
    expect(again.errors.map((e) => e?.reason)).toEqual([
      undefined,
      'empty_text',
      'untokenizable',
      undefined,
      undefined,
    ]);
    // A cached input still reports its truncation.
    expect(again.truncated).toEqual([3]);
  });

  it('tokenizes background inputs a slice at a time, letting the event loop run, with the same results', async () => {
    const texts = Array.from({ length: 40 }, (_, i) =>
      i === 2 ? '   ' : i === 20 ? UNTOKENIZABLE : i === 35 ? long : `background text number ${i}`,
    );
    const request = {
      model: MODEL,
      inputType: 'passage' as const,
      deadline: Date.now() + 30_000,
      cacheTtlSeconds: 0,
    };
    // An engine whose queue takes the 40 rows (this file's holds 8).
    const roomy = await EmbeddingEngine.start({
      manifestsDir: path.join(root, 'models'),
      modelsDataDir: path.join(root, '.data', 'models'),
      models: [MODEL],
    });
    try {
      const liveEngine = countingEngine(roomy);
      const live = await new CachedEmbedder(liveEngine, new EmbeddingCache(redis, options)).embed({
        ...request,
        inputs: inputsOf(texts),
      });
      const counted = countingEngine(roomy);
      const pending = new CachedEmbedder(counted, new EmbeddingCache(redis, options)).embed({
        ...request,
        inputs: inputsOf(texts),
        priority: 'background',
      });
      // A turn of the event loop taken while the embedder tokenizes: not every slice is done by then.
      const seenAtTurn = await new Promise<number>((resolve) =>
        setImmediate(() => resolve(counted.tokenizeCalls)),
      );
      const background = await pending;

      expect(liveEngine.tokenizeCalls).toBe(1);
      // 39 texts to tokenize (one is blank), 16 at a time.
      expect(counted.tokenizeCalls).toBe(3);
      expect(seenAtTurn).toBeLessThan(3);
      expect(background.errors.map((e) => e?.reason)).toEqual(live.errors.map((e) => e?.reason));
      expect(background.errors[20]?.reason).toBe('untokenizable');
      expect(background.truncated).toEqual([35]);
      expect(background.truncated).toEqual(live.truncated);
      expect(background.tokens).toBe(live.tokens);
      background.vectors.forEach((v, i) =>
        v ? expect(maxDiff(v, live.vectors[i]!)).toBeLessThan(1e-6) : expect(live.vectors[i]).toBeUndefined(),
      );
    } finally {
      await roomy.close();
    }
  }, 60_000);

  it('computes when the cache cannot be read, and answers even though it cannot be written', async () => {
    const metrics = new Metrics('spec');
    const embedder = new CachedEmbedder(engine, new EmbeddingCache(down, options), { metrics });
    const texts = ['redis is away', 'still answered'];
    const result = await embedder.embed({
      model: MODEL,
      inputType: 'passage',
      inputs: inputsOf(texts),
      deadline: Date.now() + 30_000,
    });
    expect(result.cached).toBe(0);
    expect(result.errors).toEqual([undefined, undefined]);
    const expected = await direct(texts);
    result.vectors.forEach((v, i) => expect(maxDiff(v!, expected[i]!)).toBeLessThan(1e-6));
    expect((await metrics.cacheMisses.get()).values).toEqual([{ labels: { model: MODEL }, value: 2 }]);
    expect((await metrics.cacheHits.get()).values).toEqual([{ labels: { model: MODEL }, value: 0 }]);
  });

  it('writes entries for the lifetime asked (0: none), per tenant unless the scope is global', async () => {
    const cache = new EmbeddingCache(redis, options);
    const embedder = new CachedEmbedder(engine, cache);
    const embed = (text: string, tenantId: string, cacheTtlSeconds?: number) =>
      embedder.embed({
        model: MODEL,
        inputType: 'passage',
        inputs: [{ tenantId, text }],
        deadline: Date.now() + 30_000,
        ...(cacheTtlSeconds === undefined ? {} : { cacheTtlSeconds }),
      });

    await embed('kept for the default', 'a');
    expect(
      await redis.ttl(cache.key(MODEL, 'passage', { tenantId: 'a', text: 'kept for the default' })),
    ).toBeGreaterThan(590);
    await embed('kept briefly', 'a', 5);
    const brief = await redis.ttl(cache.key(MODEL, 'passage', { tenantId: 'a', text: 'kept briefly' }));
    expect(brief).toBeGreaterThan(0);
    expect(brief).toBeLessThanOrEqual(5);
    await embed('not kept', 'a', 0);
    expect((await embed('not kept', 'a')).cached).toBe(0);

    expect((await embed('kept for the default', 'a')).cached).toBe(1);
    expect((await embed('kept for the default', 'b')).cached).toBe(0);
    const global = new CachedEmbedder(engine, new EmbeddingCache(redis, { ...options, scope: 'global' }));
    const shared = (tenantId: string) =>
      global.embed({
        model: MODEL,
        inputType: 'passage',
        inputs: [{ tenantId, text: 'shared between tenants' }],
        deadline: Date.now() + 30_000,
      });
    expect((await shared('a')).cached).toBe(0);
    expect((await shared('b')).cached).toBe(1);
  });

  it("lets the engine's refusals through typed, and serves cached inputs without asking the engine", async () => {
    const embedder = new CachedEmbedder(engine, new EmbeddingCache(redis, options));
    const request = { model: MODEL, inputType: 'passage' as const, fairShareKey: 'tenant-a' };
    const seen = ['seen before one', 'seen before two'];
    await embedder.embed({ ...request, inputs: inputsOf(seen), deadline: Date.now() + 30_000 });

    // The queue holds 8 rows.
    const nine = Array.from({ length: 9 }, (_, i) => `fresh text ${i}`);
    await expect(
      embedder.embed({ ...request, inputs: inputsOf(nine), deadline: Date.now() + 30_000 }),
    ).rejects.toBeInstanceOf(InferenceOverloadedError);
    await expect(
      embedder.embed({ ...request, inputs: inputsOf(['too late']), deadline: Date.now() - 1 }),
    ).rejects.toBeInstanceOf(InferenceDeadlineError);
    // All cached: answered even past the deadline, since nothing is left to infer.
    const cached = await embedder.embed({ ...request, inputs: inputsOf(seen), deadline: Date.now() - 1 });
    expect(cached.cached).toBe(2);
  });

  it('refuses a model the engine does not serve', async () => {
    const embedder = new CachedEmbedder(engine, new EmbeddingCache(redis, options));
    await expect(
      embedder.embed({ model: 'nope@1', inputType: 'query', inputs: inputsOf(['x']), deadline: Date.now() }),
    ).rejects.toThrow('model nope@1 is not served by this engine');
  });
});
