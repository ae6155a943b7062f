import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_ITEMS_PER_REQUEST } from '@tributary/contracts';
import {
  ConfigError,
  configVariables,
  ingestBodyLimitBytes,
  loadConfig,
  RedisNotConfiguredError,
  redisUrlOf,
  selectWorkerQueues,
} from './config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      DATA_DIR: '.data',
      LOG_LEVEL: 'info',
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      ADMIN_API_KEY: undefined,
      DOCS_ENABLED: true,
    });
  });

  it('parses numbers, URLs and booleans', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      REDIS_URL: 'redis://cache:6379',
      DOCS_ENABLED: 'false',
      LOG_LEVEL: 'debug',
    });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBe('postgresql://u:p@db:5432/x');
    expect(config.REDIS_URL).toBe('redis://cache:6379');
    expect(config.DOCS_ENABLED).toBe(false);
  });

  it('treats empty strings as unset (as .env.example leaves them)', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: '', ADMIN_API_KEY: '' }).DATABASE_URL).toBeUndefined();
    expect(loadConfig({ PORT: '', INFERENCE_INTRA_OP_THREADS: '' }).PORT).toBe(3000);
    expect(loadConfig({ INFERENCE_INTRA_OP_THREADS: '' }).INFERENCE_INTRA_OP_THREADS).toBeUndefined();
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://cache', LOG_LEVEL: 'loud', ADMIN_API_KEY: 'short' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(problems).toEqual(['ADMIN_API_KEY', 'LOG_LEVEL', 'PORT', 'REDIS_URL']);
    expect((error as Error).message).toContain('PORT: expected a whole number (got "eighty")');
    expect((error as Error).message).toContain('REDIS_URL: expected a redis:// or rediss:// URL');
  });

  it('reads TRUST_PROXY as Fastify trustProxy: off by default, true, a hop count or addresses', () => {
    expect(loadConfig({}).TRUST_PROXY).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,127.0.0.1' }).TRUST_PROXY).toBe('10.0.0.0/8,127.0.0.1');
    expect(() => loadConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY: expected true, false/);
  });

  it('refuses out-of-range numbers', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT: expected at most 65535/);
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE: expected at least 1/);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { PORT: number }).PORT = 1;
    }).toThrow(TypeError);
  });

  it('ignores unrelated environment variables', () => {
    expect(Object.keys(loadConfig({ HOME: '/root', PATH: '/bin' })).sort()).toEqual(
      [...configVariables].sort(),
    );
  });

  it('.env.example documents exactly the variables the schema reads', () => {
    const example = readFileSync(path.resolve(__dirname, '../../../.env.example'), 'utf8');
    const documented = example
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=')[0]);
    expect(documented.sort()).toEqual([...configVariables].sort());
  });
});

describe('MODELS', () => {
  it('is parsed once into a frozen list of model versions, in order', () => {
    const models = loadConfig({ MODELS: 'use-lite@1,use-lite-int8@1' }).MODELS;
    expect(models).toEqual(['use-lite@1', 'use-lite-int8@1']);
    expect(Object.isFrozen(models)).toBe(true);
    expect(() => (models as string[]).push('other@1')).toThrow(TypeError);
  });

  it('defaults to both bundled models; unset or empty means the default', () => {
    expect(loadConfig({}).MODELS).toEqual(['use-lite@1', 'use-lite-int8@1']);
    expect(loadConfig({ MODELS: '' }).MODELS).toEqual(['use-lite@1', 'use-lite-int8@1']);
  });

  it('drops empty entries (doubled or trailing commas)', () => {
    expect(loadConfig({ MODELS: 'use-lite@1,,use-lite-int8@1,' }).MODELS).toEqual([
      'use-lite@1',
      'use-lite-int8@1',
    ]);
    expect(loadConfig({ MODELS: ',use-lite@1' }).MODELS).toEqual(['use-lite@1']);
  });

  it('refuses whitespace and other characters, naming MODELS', () => {
    expect(() => loadConfig({ MODELS: 'use-lite@1, use-lite-int8@1' })).toThrow(
      /MODELS: comma-separated name@version ids/,
    );
    expect(() => loadConfig({ MODELS: ' use-lite@1' })).toThrow(/MODELS: comma-separated/);
    expect(() => loadConfig({ MODELS: 'Use_Lite@1' })).toThrow(/MODELS: comma-separated/);
  });
});

describe('redisUrlOf', () => {
  it('answers the configured Redis URL', () => {
    expect(redisUrlOf(loadConfig({ REDIS_URL: 'redis://cache:6379' }))).toBe('redis://cache:6379');
  });

  it('refuses with the one message when REDIS_URL is not set', () => {
    expect(() => redisUrlOf(loadConfig({}))).toThrow(RedisNotConfiguredError);
    expect(() => redisUrlOf(loadConfig({ REDIS_URL: '' }))).toThrow(
      'REDIS_URL is not set. Start the platform with `npm run up` (it starts a local redis-server and sets it), or set REDIS_URL.',
    );
  });
});

describe('selectWorkerQueues', () => {
  const known = ['maintenance', 'embed'];
  it('serves all queues by default', () => {
    expect(selectWorkerQueues(loadConfig({}), known)).toEqual(known);
  });
  it('serves the listed queues', () => {
    expect(selectWorkerQueues(loadConfig({ WORKER_QUEUES: ' embed ' }), known)).toEqual(['embed']);
  });
  it('refuses an unknown queue, naming the known ones', () => {
    expect(() => selectWorkerQueues(loadConfig({ WORKER_QUEUES: 'embed,nope' }), known)).toThrow(
      /WORKER_QUEUES: unknown queue\(s\) nope; known: maintenance, embed/,
    );
  });
});

describe('ingestBodyLimitBytes', () => {
  it('fits the documented 1,000 items at INGEST_ITEM_MAX_BYTES each, with room around each', () => {
    for (const INGEST_ITEM_MAX_BYTES of ['256', '2048', '65536']) {
      const config = loadConfig({ INGEST_ITEM_MAX_BYTES });
      const item = { id: 'x', text: 'y'.repeat(config.INGEST_ITEM_MAX_BYTES - 20) };
      const body = JSON.stringify(
        { items: Array.from({ length: MAX_ITEMS_PER_REQUEST }, () => item) },
        null,
        2,
      );
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(ingestBodyLimitBytes(config));
    }
    expect(ingestBodyLimitBytes(loadConfig({}))).toBe(1000 * (64 * 1024 + 1024));
  });
});
