import { Injectable } from '@nestjs/common';
import { DomainError, UnavailableError } from '@tributary/contracts';
import { PrismaService } from '@tributary/db';
import { VectorStoreService } from '../collections/vector-store.service';
import { EngineService } from '../embeddings/engine.service';
import { RedisService } from '../redis/redis.module';
import { LifecycleService } from './lifecycle.service';

const CHECK_TIMEOUT_MS = 2_000;

/** A probe's outcome: `undefined` when it answered, otherwise what went wrong (for the log only). */
async function check(probe: () => Promise<unknown>): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
}

export type CheckState = 'ok' | 'failing';

/** The health probes' answers: liveness, and readiness from the database, Redis, the models, the vector store and shutdown. */
@Injectable()
export class HealthService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly lifecycle: LifecycleService,
    private readonly engines: EngineService,
    private readonly vectors: VectorStoreService,
  ) {}

  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready, with each component's state; otherwise throws 503 naming the failing components. */
  async ready(): Promise<{ status: 'ok'; checks: Record<string, CheckState> }> {
    if (this.lifecycle.isDraining) throw new UnavailableError('Shutting down', 5);
    const [database, redis] = await Promise.all([
      check(() => this.prisma.ping()),
      check(() => this.redis.client.ping()),
    ]);
    const problems = {
      database,
      redis,
      models: this.engines.ready ? undefined : new Error('models are still loading'),
      vectors: this.vectors.failure === undefined ? undefined : new Error(this.vectors.failure),
    };
    // Unauthenticated: the body names components and their state, never an error's text (which
    // would tell anyone addresses, versions and credentials' shapes). The filter logs the detail.
    const checks = Object.fromEntries(
      Object.entries(problems).map(([name, problem]): [string, CheckState] => [
        name,
        problem ? 'failing' : 'ok',
      ]),
    );
    const failing = Object.entries(problems).filter(([, problem]) => problem !== undefined);
    if (failing.length > 0) {
      throw new DomainError(
        'unavailable',
        `Not ready: ${failing.map(([name]) => name).join(', ')} failing`,
        { checks },
        5,
        new Error(failing.map(([name, problem]) => `${name}: ${problem!.message}`).join('; ')),
      );
    }
    return { status: 'ok', checks };
  }
}
