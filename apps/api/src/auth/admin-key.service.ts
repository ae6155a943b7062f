import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG, type Config } from '@tributary/config';
import { AdminCredentialRepository } from './admin-credential.repository';
import { generateSecret, hashSecret, sameHash, secretPrefix } from './api-key-secret';

/** The line the launcher looks for to show the generated admin key in its summary. */
export const ADMIN_KEY_BANNER = 'TRIBUTARY ADMIN API KEY (shown once, store it now):';

/**
 * Checks admin keys. With ADMIN_API_KEY set, that key is the admin key. Without it, the first boot
 * generates one, stores only its hash and prints it once; replicas racing on first boot agree on a
 * single key because only one insert wins.
 */
@Injectable()
export class AdminKeyService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminKey');
  private storedHash: string | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    private readonly credentials: AdminCredentialRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.ADMIN_API_KEY) return;
    this.storedHash = await this.credentials.findHash();
    if (this.storedHash) return;
    const secret = generateSecret('admin');
    if (await this.credentials.createIfAbsent(hashSecret(secret), secretPrefix(secret))) {
      process.stdout.write(`\n${ADMIN_KEY_BANNER} ${secret}\n\n`);
      this.logger.warn(`generated the admin API key ${secretPrefix(secret)}…; it was printed once to stdout`);
    }
    this.storedHash = await this.credentials.findHash();
  }

  async verify(secret: string): Promise<boolean> {
    const given = hashSecret(secret);
    if (this.config.ADMIN_API_KEY) return sameHash(given, hashSecret(this.config.ADMIN_API_KEY));
    this.storedHash ??= await this.credentials.findHash();
    return this.storedHash !== undefined && sameHash(given, this.storedHash);
  }
}
