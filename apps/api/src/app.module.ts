import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { CONFIG, ConfigModule, type Config } from '@tributary/config';
import { DbModule, SpaceRepository } from '@tributary/db';
import { requestIdFor } from '@tributary/observability';
import { QueueModule } from '@tributary/queue';
import type { Logger as PinoRoot } from 'pino';
import { ZodSerializerInterceptor } from 'nestjs-zod';
import { LoggerModule } from 'nestjs-pino';
import { AdminAuthGuard } from './auth/admin-auth.guard';
import { AdminKeyService } from './auth/admin-key.service';
import { KeyUsageRecorder } from './auth/key-usage.recorder';
import { PrincipalCache } from './auth/principal-cache';
import { AuthFailures } from './auth/auth-failures';
import { RateLimiter } from './auth/rate-limiter';
import { TenantAuthGuard } from './auth/tenant-auth.guard';
import { ApiExceptionFilter } from './common/api-exception.filter';
import { cachedEmbedderProvider } from './embeddings/cached-embedder.provider';
import { EmbeddingsController } from './embeddings/embeddings.controller';
import { EmbeddingsService } from './embeddings/embeddings.service';
import { EngineService } from './embeddings/engine.service';
import { AdminModelsController } from './models/admin-models.controller';
import { ArtifactStates } from './models/artifact-states';
import { LoadedModelsReader } from './models/loaded-models.reader';
import { ModelCatalog } from './models/model-catalog';
import { ModelsController } from './models/models.controller';
import { ModelsService } from './models/models.service';
import { ApiValidationPipe } from './common/validation.pipe';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { LifecycleService } from './health/lifecycle.service';
import { ApiKeyService } from './keys/api-key.service';
import { KeysController } from './keys/keys.controller';
import { OwnKeysController } from './keys/own-keys.controller';
import { MeController } from './me/me.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsScrapeService } from './metrics/metrics-scrape.service';
import { MetricsListener, metricsPlacement } from './metrics/metrics-listener';
import { MetricsService } from './metrics/metrics.service';
import { StreamStateController } from './streams/stream-state.controller';
import { KindStage } from '@tributary/kind-stage';
import { RedisModule } from './redis/redis.module';
import { TenantService } from './tenants/tenant.service';
import { TenantsController } from './tenants/tenants.controller';
import { CollectionsController } from './collections/collections.controller';
import { CollectionsService } from './collections/collections.service';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AdminRolloutsController } from './rollouts/admin-rollouts.controller';
import { RolloutComparator } from './rollouts/rollout-comparator.service';
import { RolloutsController } from './rollouts/rollouts.controller';
import { RolloutsService } from './rollouts/rollouts.service';
import { WatchController } from './watch/watch.controller';
import { WatchService } from './watch/watch.service';
import { VectorStoreService } from './collections/vector-store.service';
import { FailuresService } from './streams/failures.service';
import { HooksController } from './streams/hooks.controller';
import { WebhookReplayRelease } from './streams/webhook-replay-release.interceptor';
import { WebhookSignatureGuard } from './streams/webhook-signature.guard';
import { IngestService } from './streams/ingest.service';
import { NdjsonIngestService } from './streams/ndjson-ingest.service';
import { StreamsController } from './streams/streams.controller';
import { StreamsService } from './streams/streams.service';

@Module({})
export class AppModule {
  /**
   * The API, wired to one frozen configuration (tests pass their own) and the root logger
   * (`createLogger(config, 'api')`), which create-app's access log shares.
   */
  static register(config: Config, logger: PinoRoot): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            logger,
            genReqId: (req) => requestIdFor(req),
            // The access line (route template, tenant) is written by create-app's onResponse hook;
            // lines logged while a request is handled carry its id, not its headers.
            autoLogging: false,
            quietReqLogger: true,
            customAttributeKeys: { reqId: 'requestId' },
          },
        }),
        DbModule.withStreams(),
        RedisModule,
        // Every model's queue opened before traffic arrives.
        QueueModule.forRoot({ clientName: 'api', openAtStart: true }),
      ],
      controllers: [
        HealthController,
        ...(metricsPlacement(config) === 'api' ? [MetricsController] : []),
        TenantsController,
        KeysController,
        OwnKeysController,
        MeController,
        EmbeddingsController,
        ModelsController,
        AdminModelsController,
        StreamsController,
        HooksController,
        CollectionsController,
        RolloutsController,
        AdminRolloutsController,
        WatchController,
        AuditController,
        StreamStateController,
      ],
      providers: [
        { provide: APP_PIPE, useClass: ApiValidationPipe },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: ZodSerializerInterceptor },
        LifecycleService,
        HealthService,
        MetricsService,
        {
          provide: KindStage,
          inject: [SpaceRepository, MetricsService],
          useFactory: (spaces: SpaceRepository, metrics: MetricsService) => new KindStage(spaces, metrics),
        },
        MetricsScrapeService,
        MetricsListener,
        AdminKeyService,
        AdminAuthGuard,
        KeyUsageRecorder,
        PrincipalCache,
        TenantAuthGuard,
        RateLimiter,
        AuthFailures,
        TenantService,
        ApiKeyService,
        ModelCatalog,
        { provide: ArtifactStates, inject: [CONFIG], useFactory: (c: Config) => new ArtifactStates(c) },
        LoadedModelsReader,
        ModelsService,
        EngineService,
        cachedEmbedderProvider,
        EmbeddingsService,
        StreamsService,
        IngestService,
        NdjsonIngestService,
        FailuresService,
        WebhookSignatureGuard,
        WebhookReplayRelease,
        VectorStoreService,
        CollectionsService,
        RolloutsService,
        WatchService,
        RolloutComparator,
        AuditService,
      ],
    };
  }
}
