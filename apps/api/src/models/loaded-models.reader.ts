import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { UnavailableError } from '@tributary/contracts';
import { liveLoadedModelsBeat, redisKeys, type LoadedModelsBeat } from '@tributary/redis';
import { RedisService } from '../redis/redis.module';

/** A live worker process and the models it reported loaded. */
export interface LoadedByWorker extends LoadedModelsBeat {
  instance: string;
}

/**
 * Reads which models the live workers have loaded: the entries their `ModelHeartbeat`
 * (apps/worker) keeps in the `modelsLoaded` hash, those past their expiry left out.
 */
@Injectable()
export class LoadedModelsReader {
  private readonly key: string;

  constructor(
    @Inject(CONFIG) config: Config,
    private readonly redis: RedisService,
  ) {
    this.key = redisKeys(config.REDIS_PREFIX).modelsLoaded;
  }

  async workers(now = Date.now()): Promise<LoadedByWorker[]> {
    let all: Record<string, string>;
    try {
      all = await this.redis.client.hgetall(this.key);
    } catch (err) {
      throw new UnavailableError(
        'Cannot read which workers have models loaded: Redis is unavailable',
        1,
        err,
      );
    }
    return Object.entries(all)
      .flatMap(([instance, value]) => {
        const beat = liveLoadedModelsBeat(value, now);
        return beat ? [{ instance, ...beat }] : [];
      })
      .sort((a, b) => a.instance.localeCompare(b.instance));
  }
}
