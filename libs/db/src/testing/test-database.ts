// The databases of integration specs: one migrated template per test run, and a copy of it for
// each spec file. Here rather than in @tributary/testing so that this library's own specs can use
// them (@tributary/testing depends on this library); @tributary/testing re-exports them.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../migrate';

/** The migrated database every test database is copied from. */
export const TEMPLATE_DATABASE = 'tributary_template';

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** (Re)creates the template database and applies every migration to it, once per test run. */
export async function prepareTemplateDatabase(serverUrl: string): Promise<void> {
  await admin(serverUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  });
  await runMigrations(withDatabase(serverUrl, TEMPLATE_DATABASE));
}

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** The server URL the test run provides (see the jest global setup). */
export function testServerUrl(): string {
  const url = process.env['TEST_DATABASE_URL'];
  if (!url)
    throw new Error(
      'TEST_DATABASE_URL is not set: run the tests with `npm test` (or through jest, whose global setup starts PostgreSQL).',
    );
  return url;
}

/** A fresh, migrated database of its own for one test file (a copy of the template: ~50 ms). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = testServerUrl();
  const name = `test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, (client) => client.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`));
  return {
    url: withDatabase(serverUrl, name),
    drop: () =>
      admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
