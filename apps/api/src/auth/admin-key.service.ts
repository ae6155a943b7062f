import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { AdminCredentialRepository } from '@tributary/db';
import { generateSecret, hashSecret, sameHash, secretPrefix } from './api-key-secret';

/** The line the launcher looks for to show the generated admin key in its summary. */
export const ADMIN_KEY_BANNER = 'TRIBUTARY ADMIN API KEY (shown once, store it now):';

/**
 * Checks admin keys. With ADMIN_API_KEY set, that key is the admin key. Without it, the first boot
 * generates one, stores only its hash and prints it once; replicas racing on first boot agree on a
 * single key because only one insert wins. `npm run admin:key -- --rotate` replaces it
 * ({@link AdminKeyService.rotate}); every check reads the stored hash (one primary-key lookup per
 * admin request), so the old key stops working at once in every API process.
 */
@Injectable()
export class AdminKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminKey');

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly credentials: AdminCredentialRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ADMIN_API_KEY) return;
    if (await this.credentials.findHash()) return;
    const secret = generateSecret('admin');
    if (await this.credentials.createIfAbsent(hashSecret(secret), secretPrefix(secret))) {
      process.stdout.write(`\n${ADMIN_KEY_BANNER} ${secret}\n\n`);
      this.logger.warn(
        `generated the admin API key ${secretPrefix(secret)}…; it was printed once to stdout (lost it? npm run admin:key -- --rotate)`,
      );
    }
  }

  async verify(secret: string): Promise<boolean> {
    const given = hashSecret(secret);
    if (this.config.ADMIN_API_KEY) return sameHash(given, hashSecret(this.config.ADMIN_API_KEY));
    const stored = await this.credentials.findHash();
    return stored !== undefined && sameHash(given, stored);
  }

  /** The stored admin key's prefix and when it was made; undefined when ADMIN_API_KEY rules or none exists. */
  async describe(): Promise<{ prefix: string; createdAt: Date } | undefined> {
    if (this.config.ADMIN_API_KEY) return undefined;
    const row = await this.credentials.find();
    return row && { prefix: row.prefix, createdAt: row.createdAt };
  }

  /**
   * Replaces the stored admin key with a new one and returns it (shown once; only its hash is
   * kept). The old key is refused from the next request on. Not for ADMIN_API_KEY, which is
   * changed where it is set.
   */
  async rotate(): Promise<string> {
    if (this.config.ADMIN_API_KEY) {
      throw new Error(
        'ADMIN_API_KEY is set, so the admin key is its value: change the variable and restart the API.',
      );
    }
    const secret = generateSecret('admin');
    await this.credentials.replace(hashSecret(secret), secretPrefix(secret));
    return secret;
  }
}
