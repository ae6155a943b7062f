import 'reflect-metadata';
import path from 'node:path';
import { Command } from 'commander';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, loadConfig } from '@tributary/config';
import { AdminCredentialRepository, DbModule, openEmbeddedPostgres } from '@tributary/db';
import { ADMIN_KEY_BANNER, AdminKeyService } from './auth/admin-key.service';

/**
 * `npm run admin:key [-- --rotate]`: says which admin key is in force, and with `--rotate` replaces
 * the generated one with a new key, printed once (the way to recover a lost key: only its hash is
 * stored). Works on DATABASE_URL, or without it on the embedded PostgreSQL under DATA_DIR: the one a
 * running `npm run up` serves, or one started just for this command.
 */
async function main(argv: string[]): Promise<void> {
  const program = new Command('admin:key')
    .description(
      'Show the admin API key in force, or replace it with --rotate (the old key stops working at once).',
    )
    .option('--rotate', 'generate a new admin key, print it once, and refuse the old one from now on')
    .showHelpAfterError()
    .parse(argv);
  const { rotate } = program.opts<{ rotate?: boolean }>();
  const config = loadConfig(process.env);
  if (config.ADMIN_API_KEY) {
    process.stdout.write(
      'The admin key is the value of ADMIN_API_KEY. To rotate it, set a new value and restart the API.\n',
    );
    if (rotate) process.exitCode = 1;
    return;
  }
  const database = config.DATABASE_URL
    ? { url: config.DATABASE_URL, started: false, close: () => Promise.resolve() }
    : await openEmbeddedPostgres({ dataDir: path.join(path.resolve(config.DATA_DIR), 'postgres') });
  // The database module alone: the API's AdminKeyService would generate a key on start-up.
  const db = await NestFactory.createApplicationContext(
    {
      module: class AdminKeyDatabase {},
      imports: [
        ConfigModule.forRoot(
          loadConfig({ ...process.env, DATABASE_URL: database.url, DATABASE_POOL_SIZE: '1' }),
        ),
        DbModule,
      ],
    },
    { logger: false },
  );
  try {
    const keys = new AdminKeyService(config, db.get(AdminCredentialRepository));
    if (rotate) {
      const secret = await keys.rotate();
      process.stdout.write(
        `\n${ADMIN_KEY_BANNER} ${secret}\n\nThe previous admin key no longer works, in every API process.\n`,
      );
      return;
    }
    const current = await keys.describe();
    process.stdout.write(
      current
        ? `The admin key ${current.prefix}… was made ${current.createdAt.toISOString()}. Only its hash is stored, so it cannot be shown again; lost it? npm run admin:key -- --rotate\n`
        : 'No admin key yet: the API generates one on its first start (or run npm run admin:key -- --rotate).\n',
    );
  } finally {
    await db.close();
    await database.close();
  }
}

main(process.argv).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(
    `admin:key failed: ${message}${/admin_credential/.test(message) ? '\n(the database has no tables yet: run npm run db:migrate or npm run up first)' : ''}\n`,
  );
  process.exit(1);
});
