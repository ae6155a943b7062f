import { open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { COLLECTION_KEY_PATTERN } from '../validation';

/**
 * The embedded store's aliases, saved beside its collection directories as one small JSON file
 * (`{ "format": 1, "aliases": { alias: key } }`), replaced whole by a rename so a crash leaves the
 * old file or the new one. A name that is not a valid key cannot be a collection's directory, so the
 * file never collides with one.
 */
export const ALIAS_FILE = 'aliases.json';
const FORMAT = 1;

/** The saved aliases; none when there is no file yet. Throws on a file it cannot read. */
export async function readAliasFile(dir: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path.join(dir, ALIAS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw err;
  }
  const parsed = JSON.parse(text) as { format?: unknown; aliases?: unknown };
  if (parsed.format !== FORMAT || typeof parsed.aliases !== 'object' || parsed.aliases === null) {
    throw new Error(`${ALIAS_FILE} has format ${JSON.stringify(parsed.format)}, expected ${FORMAT}`);
  }
  const aliases = new Map<string, string>();
  for (const [alias, key] of Object.entries(parsed.aliases)) {
    if (!COLLECTION_KEY_PATTERN.test(alias) || typeof key !== 'string' || !COLLECTION_KEY_PATTERN.test(key)) {
      throw new Error(`${ALIAS_FILE} holds an invalid alias ${JSON.stringify([alias, key])}`);
    }
    aliases.set(alias, key);
  }
  return aliases;
}

/** Writes the aliases to a temporary file, syncs it and renames it over the old one. */
export async function writeAliasFile(dir: string, aliases: ReadonlyMap<string, string>): Promise<void> {
  const file = path.join(dir, ALIAS_FILE);
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify({ format: FORMAT, aliases: Object.fromEntries(aliases) }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}
