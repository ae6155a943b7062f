import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Payload } from '../vector-store';
import { assertId, assertPayload } from '../validation';

/** The usearch HNSW graph with its vectors (the representatives: points not in a group). */
export const INDEX_FILE = 'index.usearch';
/**
 * The sidecar: one header line, then one `[id, key, payload]` line per point, with a fourth element,
 * the representative's id, for a member of a near-duplicate group.
 */
export const META_FILE = 'meta.jsonl';
/** Every point's vector (unit length, float32 in platform byte order), one row per sidecar entry in its order. */
export const FLAT_FILE = 'vectors.f32';
/**
 * 2: every point's vector saved, members of near-duplicate groups named. Files of format 1 (all
 * points in the graph, vectors only for small collections) are rebuilt from the source.
 */
const FORMAT = 2;

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
  /** Size and SHA-256 of FLAT_FILE. */
  flatBytes: number;
  flatSha256: string;
}

/** A point's id, its usearch key, its payload and (members of a group) its representative's id. */
export type CollectionEntry = [id: string, key: bigint, payload: Payload, rep?: string];

export interface CollectionSnapshot {
  key: string;
  dimensions: number;
  version: string | undefined;
  nextKey: bigint;
  /** The caller has written every entry's vector (rows in `entries` order) to `tmpFlatPath(dir)`. */
  entries: CollectionEntry[];
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
 * Commits a snapshot whose index and vectors the caller has just written to `tmpIndexPath(dir)`
 * and `tmpFlatPath(dir)`: the sidecar records each file's size and SHA-256,
 * then the files are renamed into place, the sidecar last. A reader refuses a file whose checksum
 * differs (usearch aborts the process on some corrupt files), so a crash between the renames costs
 * a rebuild, never a wrong or crashed load.
 */
export async function commitCollectionFiles(dir: string, snapshot: CollectionSnapshot): Promise<void> {
  const indexTmp = tmpIndexPath(dir);
  const flatTmp = tmpFlatPath(dir);
  const metaTmp = path.join(dir, `${META_FILE}.tmp`);
  await fsync(indexTmp);
  await fsync(flatTmp);
  const header: CollectionHeader = {
    format: FORMAT,
    key: snapshot.key,
    dimensions: snapshot.dimensions,
    version: snapshot.version ?? null,
    nextKey: snapshot.nextKey.toString(),
    count: snapshot.entries.length,
    indexBytes: (await stat(indexTmp)).size,
    indexSha256: await sha256File(indexTmp),
    flatBytes: (await stat(flatTmp)).size,
    flatSha256: await sha256File(flatTmp),
  };
  const handle = await open(metaTmp, 'w');
  try {
    let chunk = `${JSON.stringify(header)}\n`;
    for (const [id, key, payload, rep] of snapshot.entries) {
      const line = rep === undefined ? [id, key.toString(), payload] : [id, key.toString(), payload, rep];
      chunk += `${JSON.stringify(line)}\n`;
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
  await rename(flatTmp, path.join(dir, FLAT_FILE));
  await rename(metaTmp, path.join(dir, META_FILE));
  try {
    await fsync(dir);
  } catch {
    // Directories cannot be opened for fsync on every platform (Windows); the renames still happened.
  }
}

function parseHeader(line: string): CollectionHeader {
  const header = JSON.parse(line) as Partial<CollectionHeader>;
  const format: unknown = header.format;
  if (typeof format === 'number' && format !== FORMAT) {
    throw new CollectionFilesError(`saved in format ${format}, this version reads ${String(FORMAT)}`);
  }
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
    !Number.isInteger(header.flatBytes) ||
    typeof header.flatSha256 !== 'string'
  ) {
    throw new CollectionFilesError('the sidecar header is malformed');
  }
  return header as CollectionHeader;
}

async function readFlat(dir: string, header: CollectionHeader): Promise<Float32Array> {
  if (header.flatBytes !== header.count * header.dimensions * Float32Array.BYTES_PER_ELEMENT) {
    throw new CollectionFilesError(
      `the vectors file has ${header.flatBytes} bytes, not ${header.count} × ${header.dimensions} floats`,
    );
  }
  const bytes = await readFile(path.join(dir, FLAT_FILE));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== header.flatBytes || sha256 !== header.flatSha256) {
    throw new CollectionFilesError('the vectors file does not match the checksum in the sidecar');
  }
  // Copied into a buffer of its own: a Buffer may sit at any offset of a shared pool.
  const flat = new Float32Array(bytes.length / Float32Array.BYTES_PER_ELEMENT);
  new Uint8Array(flat.buffer).set(bytes);
  return flat;
}

function parseEntry(line: string, nextKey: bigint): CollectionEntry {
  const raw = JSON.parse(line) as unknown;
  if (
    !Array.isArray(raw) ||
    (raw.length !== 3 && raw.length !== 4) ||
    typeof raw[1] !== 'string' ||
    !/^\d+$/.test(raw[1])
  ) {
    throw new CollectionFilesError('a sidecar entry is malformed');
  }
  const [id, key, payload, rep] = raw as [string, string, Payload, unknown];
  assertId(id);
  assertPayload(payload, 'Saved point');
  const bigKey = BigInt(key);
  if (bigKey >= nextKey) throw new CollectionFilesError('a sidecar entry has a key beyond nextKey');
  if (raw.length === 3) return [id, bigKey, payload];
  if (typeof rep !== 'string') throw new CollectionFilesError('a sidecar entry is malformed');
  assertId(rep);
  return [id, bigKey, payload, rep];
}

export interface LoadedCollectionFiles {
  header: CollectionHeader;
  entries: CollectionEntry[];
  /** The index file, verified against the sidecar's checksum. */
  indexPath: string;
  /** Every entry's vector (one row of `dimensions` per entry, in order), verified. */
  flat: Float32Array;
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
