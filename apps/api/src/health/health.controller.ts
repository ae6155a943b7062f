import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UnavailableError } from '@tributary/contracts';
import { PrismaService } from '@tributary/db';
import { ApiErrors } from '../common/openapi';
import { EngineService } from '../embeddings/engine.service';
import { RedisService } from '../redis/redis.module';
import { LifecycleService } from './lifecycle.service';

const CHECK_TIMEOUT_MS = 2_000;

async function check(probe: () => Promise<unknown>): Promise<string> {
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
    return 'up';
  } catch (err) {
    return `down: ${(err as Error).message}`;
  } finally {
    clearTimeout(timer);
  }
}

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly prisma: PrismaService,
    private readonly redis: RedisService,
    private readonly lifecycle: LifecycleService,
    private readonly engines: EngineService,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is running' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary:
      'Readiness: the database and Redis answer, the models are loaded, and the process is not shutting down',
  })
  @ApiOkResponse({
    schema: { example: { status: 'ok', checks: { database: 'up', redis: 'up', models: 'up' } } },
  })
  @ApiErrors(503)
  async ready() {
    if (this.lifecycle.isDraining) throw new UnavailableError('Shutting down', 5);
    const [database, redis] = await Promise.all([
      check(() => this.prisma.ping()),
      check(() => this.redis.client.ping()),
    ]);
    const models = this.engines.ready ? 'up' : 'down: loading';
    const checks = { database, redis, models };
    if (database !== 'up' || redis !== 'up' || models !== 'up') {
      throw new UnavailableError(`Not ready: database ${database}; redis ${redis}; models ${models}`, 5);
    }
    return { status: 'ok', checks };
  }
}
