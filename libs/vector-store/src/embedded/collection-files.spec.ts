import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CollectionFilesError,
  CollectionSnapshot,
  commitCollectionFiles,
  FLAT_FILE,
  INDEX_FILE,
  META_FILE,
  readCollectionFiles,
  tmpFlatPath,
  tmpIndexPath,
} from './collection-files';

const snapshot: CollectionSnapshot = {
  key: 'c1',
  dimensions: 3,
  version: 'v7',
  nextKey: 12n,
  entries: [
    ['a', 3n, { colour: 'red', n: 1, ok: true, none: null }],
    ['b\n"quoted"', 11n, {}, 'a'],
  ],
};
/** Two rows of three floats, in `snapshot.entries` order. */
const rows = Float32Array.from([1, 0, 0, 0.6, 0.8, 0]);

describe('collection files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tributary-collection-files-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function commit(index = 'index bytes', vectors = rows): Promise<void> {
    await writeFile(tmpIndexPath(dir), index);
    await writeFile(tmpFlatPath(dir), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
    await commitCollectionFiles(dir, snapshot);
  }

  it('reads back what was committed (a group member with its representative), index and vectors verified', async () => {
    await commit();
    const loaded = await readCollectionFiles(dir, 'c1');
    expect(loaded.entries).toEqual(snapshot.entries);
    expect(loaded.header).toMatchObject({ key: 'c1', dimensions: 3, version: 'v7', nextKey: '12', count: 2 });
    expect(await readFile(loaded.indexPath, 'utf8')).toBe('index bytes');
    expect(loaded.flat).toEqual(rows);
    expect(loaded.header).toMatchObject({ flatBytes: rows.byteLength });
  });

  it('refuses files of the format before near-duplicate groups, saying so', async () => {
    await commit();
    const meta = path.join(dir, META_FILE);
    await writeFile(meta, (await readFile(meta, 'utf8')).replace('"format":2', '"format":1'));
    await expect(readCollectionFiles(dir, 'c1')).rejects.toThrow(/saved in format 1, this version reads 2/);
  });

  it.each([
    [
      'a changed vectors file',
      () => writeFile(path.join(dir, FLAT_FILE), new Uint8Array(24)),
      /vectors file does not/,
    ],
    ['a missing vectors file', () => rm(path.join(dir, FLAT_FILE)), /vectors\.f32 is missing/],
    ['vectors of another size', () => commit('index bytes', rows.subarray(0, 3)), /has 12 bytes, not 2 × 3/],
  ])('refuses %s', async (_what, damage, reason) => {
    await commit();
    await damage();
    const error = await readCollectionFiles(dir, 'c1').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CollectionFilesError);
    expect((error as CollectionFilesError).reason).toMatch(reason);
  });

  it('keeps no version as null', async () => {
    await writeFile(tmpIndexPath(dir), 'x');
    await writeFile(tmpFlatPath(dir), new Uint8Array(rows.buffer));
    await commitCollectionFiles(dir, { ...snapshot, version: undefined });
    expect((await readCollectionFiles(dir, 'c1')).header.version).toBeNull();
  });

  const refusals: [string, () => Promise<void>, RegExp][] = [
    ['a changed index', () => writeFile(path.join(dir, INDEX_FILE), 'index bytez'), /checksum/],
    ['a missing index', () => rm(path.join(dir, INDEX_FILE)), /index\.usearch is missing/],
    ['a missing sidecar', () => rm(path.join(dir, META_FILE)), /meta\.jsonl is missing/],
    ['an empty sidecar', () => writeFile(path.join(dir, META_FILE), ''), /empty/],
    ['a torn sidecar', () => truncate(60), /unreadable|lists/],
    ['a sidecar missing a line', () => dropLastLine(), /lists 1 points, its header 2/],
  ];

  async function truncate(length: number): Promise<void> {
    const meta = path.join(dir, META_FILE);
    await writeFile(meta, (await readFile(meta, 'utf8')).slice(0, length));
  }

  async function dropLastLine(): Promise<void> {
    const meta = path.join(dir, META_FILE);
    const lines = (await readFile(meta, 'utf8')).trimEnd().split('\n');
    await writeFile(meta, `${lines.slice(0, -1).join('\n')}\n`);
  }

  it.each(refusals)('refuses %s', async (_what, damage, reason) => {
    await commit();
    await damage();
    const error = await readCollectionFiles(dir, 'c1').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(CollectionFilesError);
    expect((error as CollectionFilesError).reason).toMatch(reason);
  });

  it('refuses files written for another collection', async () => {
    await commit();
    await expect(readCollectionFiles(dir, 'c2')).rejects.toThrow(/belongs to collection c1/);
  });
});
