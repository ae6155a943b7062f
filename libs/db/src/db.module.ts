import { DynamicModule, Global, Module, type Provider } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { PrismaService } from './prisma.service';
import { AdminCredentialRepository } from './repositories/admin-credential.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ApiKeyUsageRepository } from './repositories/api-key-usage.repository';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { CollectionRepository } from './repositories/collection.repository';
import { ItemEmbeddingRepository } from './repositories/item-embedding.repository';
import { ItemFailureRepository } from './repositories/item-failure.repository';
import { ItemIngestRepository } from './repositories/item-ingest.repository';
import { ItemQueueRepository } from './repositories/item-queue.repository';
import { ItemVectorRepository } from './repositories/item-vector.repository';
import { RolloutRepository } from './repositories/rollout.repository';
import { SpaceRepository } from './repositories/space.repository';
import { StreamRepository } from './repositories/stream.repository';
import { TenantRepository } from './repositories/tenant.repository';
import { WatchRepository } from './repositories/watch.repository';
import { SecretBox } from './secret-box';

const repositories: Provider[] = [
  TenantRepository,
  ApiKeyRepository,
  ApiKeyUsageRepository,
  AdminCredentialRepository,
  AuditRepository,
  CollectionRepository,
  ItemIngestRepository,
  ItemQueueRepository,
  ItemEmbeddingRepository,
  ItemFailureRepository,
  ItemVectorRepository,
  RolloutRepository,
  SpaceRepository,
  WatchRepository,
];

/**
 * The {@link PrismaService} and the repositories, the only code that touches the database;
 * expects the CONFIG provider from the app module. Global: a feature injects the repository it
 * uses. {@link DbModule.withStreams} adds the stream repository, which needs the webhook secrets'
 * keys.
 */
@Global()
@Module({ providers: [PrismaService, ...repositories], exports: [PrismaService, ...repositories] })
export class DbModule {
  /**
   * Also the {@link StreamRepository} and the {@link SecretBox} it encrypts webhook secrets with,
   * its keys resolved at boot (a missing key stops start-up, not a request). For the API: workers
   * hold no secrets keys.
   */
  static withStreams(): DynamicModule {
    return {
      module: DbModule,
      providers: [
        { provide: SecretBox, useFactory: (c: Config) => SecretBox.fromConfig(c), inject: [CONFIG] },
        StreamRepository,
      ],
      exports: [SecretBox, StreamRepository],
    };
  }
}
