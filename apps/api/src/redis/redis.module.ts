import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { createRedis, waitForRedis, type Redis } from '@tributary/redis';

/** Thrown at boot when no Redis is configured. */
export class RedisNotConfiguredError extends Error {
  constructor() {
    super(
      'REDIS_URL is not set. Start the platform with `npm run up` (it starts a local redis-server and sets it), or set REDIS_URL.',
    );
    this.name = 'RedisNotConfiguredError';
  }
}

/** The API's Redis connection: a fail-fast producer connection, so requests never hang on Redis. */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis;

  constructor(@Inject(CONFIG) config: Config) {
    if (!config.REDIS_URL) throw new RedisNotConfiguredError();
    this.client = createRedis(config.REDIS_URL, 'producer', 'api');
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
