import type { Provider } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { CachedEmbedder, EmbeddingCache, type EmbedEngine } from '@tributary/embedding';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.module';
import { EngineService } from './engine.service';

/**
 * The API's {@link CachedEmbedder}: the shared embedding cache on the API's Redis connection, hits
 * and misses counted in the API's metrics. The engine starts in `EngineService.onModuleInit`, after
 * providers are built, so each call asks for it.
 */
export const cachedEmbedderProvider: Provider = {
  provide: CachedEmbedder,
  inject: [EngineService, RedisService, MetricsService, CONFIG],
  useFactory: (engines: EngineService, redis: RedisService, metrics: MetricsService, config: Config) => {
    const engine: EmbedEngine = {
      model: (...args) => engines.engine.model(...args),
      tokenizeEach: (...args) => engines.engine.tokenizeEach(...args),
      embedRows: (...args) => engines.engine.embedRows(...args),
    };
    return new CachedEmbedder(engine, EmbeddingCache.fromConfig(redis.client, config), { metrics });
  },
};
