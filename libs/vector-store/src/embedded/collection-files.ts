import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Payload } from '../vector-store';
import { assertId, assertPayload } from '../validation';

/** The usearch HNSW graph with its vectors. */
export const INDEX_FILE = 'index.usearch';
/** The sidecar: one header line, then one `[id, key, payload]` line per point. */
export const META_FILE = 'meta.jsonl';
/**
 * The flat copy of a collection's vectors (unit length, little-endian float32, one row per sidecar
 * entry in the sidecar's order), kept for collections small enough to be searched exactly.
 */
export const FLAT_FILE = 'vectors.f32';
const FORMAT = 1;

export interface CollectionHeader {
  format: typeof FORMAT;
  key: string;
  dimensions: number;
  /** The source version the saved content reflects (see RebuildSource). */
  version: string | null;
  /** The next usearch key to hand out; keys are never reused within a collection's life. */
  nextKey: string;
  count: number;
  indexBytes: number;
  indexSha256: string;
  /** Size and SHA-256 of FLAT_FILE; absent (files saved before flat copies) or null: no flat copy. */
  flatBytes?: number | null;
  flatSha256?: string | null;
}

/** A point's id, its usearch key and its payload. */
export type CollectionEntry = [id: string, key: bigint, payload: Payload];

export interface CollectionSnapshot {
  key: string;
  dimensions: number;
  version: string | undefined;
  nextKey: bigint;
  entries: CollectionEntry[];
  /** The caller has written the flat copy (rows in `entries` order) to `tmpFlatPath(dir)`. */
  flat: boolean;
}

/** The files are missing, unreadable or inconsistent; the collection must be rebuilt. */
export class CollectionFilesError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CollectionFilesError';
  }
}

export const tmpIndexPath = (dir: string): string => path.join(dir, `${INDEX_FILE}.tmp`);
export const tmpFlatPath = (dir: string): string => path.join(dir, `${FLAT_FILE}.tmp`);

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fsync(file: string, flags = 'r'): Promise<void> {
  const handle = await open(file, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Commits a snapshot whose index (and flat copy, if any) the caller has just written to
 * `tmpIndexPath(dir)` (and `tmpFlatPath(dir)`): the sidecar records each file's size and SHA-256,
 * then the files are renamed into place, the sidecar last. A reader refuses a file whose checksum
 * differs (usearch aborts the process on some corrupt files), so a crash between the renames costs
 * a rebuild, never a wrong or crashed load.
 */
export async function commitCollectionFiles(dir: string, snapshot: CollectionSnapshot): Promise<void> {
  const indexTmp = tmpIndexPath(dir);
  const flatTmp = tmpFlatPath(dir);
  const metaTmp = path.join(dir, `${META_FILE}.tmp`);
  await fsync(indexTmp);
  if (snapshot.flat) await fsync(flatTmp);
  const header: CollectionHeader = {
    format: FORMAT,
    key: snapshot.key,
    dimensions: snapshot.dimensions,
    version: snapshot.version ?? null,
    nextKey: snapshot.nextKey.toString(),
    count: snapshot.entries.length,
    indexBytes: (await stat(indexTmp)).size,
    indexSha256: await sha256File(indexTmp),
    flatBytes: snapshot.flat ? (await stat(flatTmp)).size : null,
    flatSha256: snapshot.flat ? await sha256File(flatTmp) : null,
  };
  const handle = await open(metaTmp, 'w');
  try {
    let chunk = `${JSON.stringify(header)}\n`;
    for (const [id, key, payload] of snapshot.entries) {
      chunk += `${JSON.stringify([id, key.toString(), payload])}\n`;
      // Small writes: each one is a turn of the event loop, so a save of a big collection never
      // holds requests for more than a fraction of a millisecond (1 MB chunks held them for ~10 ms).
      if (chunk.length > 1 << 16) {
        await handle.write(chunk);
        chunk = '';
      }
    }
    await handle.write(chunk);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(indexTmp, path.join(dir, INDEX_FILE));
  if (snapshot.flat) await rename(flatTmp, path.join(dir, FLAT_FILE));
  await rename(metaTmp, path.join(dir, META_FILE));
  // A collection that outgrew its flat copy: the sidecar no longer names the file.
  if (!snapshot.flat) await rm(path.join(dir, FLAT_FILE), { force: true });
  try {
    await fsync(dir);
  } catch {
    // Directories cannot be opened for fsync on every platform (Windows); the renames still happened.
  }
}

function parseHeader(line: string): CollectionHeader {
  const header = JSON.parse(line) as Partial<CollectionHeader>;
  if (
    header.format !== FORMAT ||
    typeof header.key !== 'string' ||
    !Number.isInteger(header.dimensions) ||
    !(header.version === null || typeof header.version === 'string') ||
    typeof header.nextKey !== 'string' ||
    !/^\d+$/.test(header.nextKey) ||
    !Number.isInteger(header.count) ||
    !Number.isInteger(header.indexBytes) ||
    typeof header.indexSha256 !== 'string' ||
    !(header.flatBytes === undefined || header.flatBytes === null || Number.isInteger(header.flatBytes)) ||
    (typeof header.flatBytes === 'number') !== (typeof header.flatSha256 === 'string')
  ) {
    throw new CollectionFilesError('the sidecar header is malformed');
  }
  return header as CollectionHeader;
}

async function readFlat(dir: string, header: CollectionHeader): Promise<Float32Array | undefined> {
  if (typeof header.flatBytes !== 'number') return undefined;
  if (header.flatBytes !== header.count * header.dimensions * Float32Array.BYTES_PER_ELEMENT) {
    throw new CollectionFilesError(
      `the sidecar's flat copy has ${header.flatBytes} bytes, not ${header.count} × ${header.dimensions} floats`,
    );
  }
  const bytes = await readFile(path.join(dir, FLAT_FILE));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== header.flatBytes || sha256 !== header.flatSha256) {
    throw new CollectionFilesError('the flat copy does not match the checksum in the sidecar');
  }
  // Copied into a buffer of its own: a Buffer may sit at any offset of a shared pool.
  const flat = new Float32Array(bytes.length / Float32Array.BYTES_PER_ELEMENT);
  new Uint8Array(flat.buffer).set(bytes);
  return flat;
}

function parseEntry(line: string, nextKey: bigint): CollectionEntry {
  const raw = JSON.parse(line) as unknown;
  if (!Array.isArray(raw) || raw.length !== 3 || typeof raw[1] !== 'string' || !/^\d+$/.test(raw[1])) {
    throw new CollectionFilesError('a sidecar entry is malformed');
  }
  const [id, key, payload] = raw as [string, string, Payload];
  assertId(id);
  assertPayload(payload, 'Saved point');
  const bigKey = BigInt(key);
  if (bigKey >= nextKey) throw new CollectionFilesError('a sidecar entry has a key beyond nextKey');
  return [id, bigKey, payload];
}

export interface LoadedCollectionFiles {
  header: CollectionHeader;
  entries: CollectionEntry[];
  /** The index file, verified against the sidecar's checksum. */
  indexPath: string;
  /** The flat copy (one row of `dimensions` per entry), verified; undefined when none was saved. */
  flat: Float32Array | undefined;
}

/** Reads and checks a collection's sidecar and verifies its index file; throws CollectionFilesError. */
export async function readCollectionFiles(dir: string, key: string): Promise<LoadedCollectionFiles> {
  const metaPath = path.join(dir, META_FILE);
  const indexPath = path.join(dir, INDEX_FILE);
  try {
    const lines = createInterface({ input: createReadStream(metaPath), crlfDelay: Infinity });
    let header: CollectionHeader | undefined;
    const entries: CollectionEntry[] = [];
    const ids = new Set<string>();
    const keys = new Set<bigint>();
    for await (const line of lines) {
      if (header === undefined) {
        header = parseHeader(line);
        continue;
      }
      if (line === '') continue;
      const entry = parseEntry(line, BigInt(header.nextKey));
      if (ids.has(entry[0]) || keys.has(entry[1]))
        throw new CollectionFilesError('the sidecar repeats a point');
      ids.add(entry[0]);
      keys.add(entry[1]);
      entries.push(entry);
    }
    if (header === undefined) throw new CollectionFilesError('the sidecar is empty');
    if (header.key !== key) throw new CollectionFilesError(`the sidecar belongs to collection ${header.key}`);
    if (entries.length !== header.count) {
      throw new CollectionFilesError(
        `the sidecar lists ${entries.length} points, its header ${header.count}`,
      );
    }
    const size = (await stat(indexPath)).size;
    if (size !== header.indexBytes || (await sha256File(indexPath)) !== header.indexSha256) {
      throw new CollectionFilesError('the index file does not match the checksum in the sidecar');
    }
    return { header, entries, indexPath, flat: await readFlat(dir, header) };
  } catch (err) {
    if (err instanceof CollectionFilesError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CollectionFilesError(
        `${path.basename((err as NodeJS.ErrnoException).path ?? 'a file')} is missing`,
      );
    }
    throw new CollectionFilesError(`unreadable: ${(err as Error).message}`);
  }
}
