import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { CONFIG, redisUrlOf, type Config } from '@tributary/config';
import { createRedis, waitForRedis, type Redis } from '@tributary/redis';

/** The API's Redis connection: a fail-fast producer connection, so requests never hang on Redis. */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(CONFIG) config: Config) {
    this.client = createRedis(redisUrlOf(config), 'producer', 'api');
    // Errors surface on the commands that fail; the connection retries by itself.
    this.client.on('error', () => undefined);
  }

  /** Waits (boundedly) for the first connection, so the first requests do not fail fast for nothing. */
  async onModuleInit(): Promise<void> {
    try {
      await waitForRedis(this.client, 10_000);
    } catch (err) {
      new Logger('Redis').warn(`${(err as Error).message}; readiness reports it until Redis answers`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
