import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Shutdown order on SIGTERM: readiness turns false first (onModuleDestroy), the process keeps
 * serving for SHUTDOWN_GRACE_MS so load balancers notice, then the HTTP server drains in-flight
 * requests, and only then are the database and Redis closed (onApplicationShutdown elsewhere).
 */
@Injectable()
export class LifecycleService implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger('Lifecycle');
  private draining = false;

  constructor(@Inject(CONFIG) private readonly config: Config) {}

  get isDraining(): boolean {
    return this.draining;
  }

  onModuleDestroy(): void {
    this.draining = true;
    this.logger.log('shutting down: readiness is now false');
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.config.SHUTDOWN_GRACE_MS > 0) await sleep(this.config.SHUTDOWN_GRACE_MS);
  }
}
