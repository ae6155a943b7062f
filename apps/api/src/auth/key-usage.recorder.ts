import { Inject, Injectable, Logger } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { redisKeys } from '@tributary/redis';
import { RedisService } from '../redis/redis.module';

/**
 * Notes when a key was used, in Redis, off the request's critical path: one HSET instead of a
 * database write per request. The `ApiKeyUsageFlush` job moves the times to PostgreSQL.
 */
@Injectable()
export class KeyUsageRecorder {
  private readonly logger = new Logger('KeyUsage');
  private readonly key: string;

  constructor(
    private readonly redis: RedisService,
    @Inject(CONFIG) config: Config,
  ) {
    this.key = redisKeys(config.REDIS_PREFIX).keyUsage;
  }

  record(keyId: string, at = Date.now()): void {
    this.redis.client.hset(this.key, keyId, String(at)).catch((err: Error) => {
      this.logger.debug(`could not record key usage: ${err.message}`);
    });
  }
}
