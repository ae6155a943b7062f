import { exactSearch, MetricKind } from 'usearch';

/** Rows allocated up front; capacity then doubles, up to the copy's bound. */
const INITIAL_ROWS = 256;

export interface FlatMatches {
  ids: string[];
  /** Cosine similarity of each id to the query, best first. */
  scores: number[];
}

/**
 * A flat copy of a collection's vectors for exact search: one float32 row per point, scaled to unit
 * length so that usearch's inner-product scan (`exactSearch`, SIMD, one thread) ranks by cosine.
 * The usearch JS binding cannot read vectors back out of an index (it has no `get`), so the store
 * keeps this copy beside the HNSW graph for collections of at most `maxRows` points. Rows stay
 * dense: a removed row is filled with the last one (a position map finds each id's row).
 *
 * Cost at 512 dimensions, measured by `npm run bench:recall`: 2,097 bytes per point of JS memory
 * when the capacity is full (2,048 of row plus the position map), up to twice the rows' share just
 * after capacity doubled (3,355 bytes per point at 10,000 points, capacity 16,384); at most 32 MB
 * per collection at the default bound. Writing a row is a copy and a normalisation (about a
 * microsecond): insert cost stayed within the noise of the HNSW insert beside it (0.16–0.43 ms per
 * point with the copy, 0.17–0.52 without, 4,000–16,000 points). Saved beside the index it adds
 * 4 bytes × dimensions per point on disk, and a save of 16,000 points takes ≈ 450 ms instead of
 * ≈ 130 ms (write and checksum of 32 MB more); loading takes the same ≈ 0.2 s.
 */
export class FlatCopy {
  private rows: Float32Array;
  private readonly ids: string[];
  private readonly rowById: Map<string, number>;

  /**
   * @param initial rows already known (as loaded from disk): `vectors` holds `ids.length` unit rows.
   */
  constructor(
    readonly dimensions: number,
    readonly maxRows: number,
    initial?: { ids: string[]; vectors: Float32Array },
  ) {
    this.ids = initial ? [...initial.ids] : [];
    this.rowById = new Map(this.ids.map((id, row) => [id, row]));
    this.rows = new Float32Array(this.capacityFor(this.ids.length) * dimensions);
    if (initial) this.rows.set(initial.vectors.subarray(0, this.ids.length * dimensions));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Ids in row order (the order `bytes()` writes the rows in). */
  rowIds(): readonly string[] {
    return this.ids;
  }

  /** Writes (or overwrites) the row of `id`. The caller keeps the size within `maxRows`. */
  set(id: string, vector: Float32Array): void {
    let row = this.rowById.get(id);
    if (row === undefined) {
      row = this.ids.length;
      if (row >= this.maxRows) throw new RangeError(`the flat copy holds at most ${this.maxRows} rows`);
      this.grow(row + 1);
      this.ids.push(id);
      this.rowById.set(id, row);
    }
    let norm = 0;
    for (let d = 0; d < this.dimensions; d++) norm += (vector[d] as number) ** 2;
    const scale = 1 / Math.sqrt(norm);
    const offset = row * this.dimensions;
    for (let d = 0; d < this.dimensions; d++) this.rows[offset + d] = (vector[d] as number) * scale;
  }

  /** Removes the row of `id`, moving the last row into its place. */
  remove(id: string): void {
    const row = this.rowById.get(id);
    if (row === undefined) return;
    this.rowById.delete(id);
    const last = this.ids.length - 1;
    const moved = this.ids.pop() as string;
    if (row !== last) {
      this.rows.copyWithin(row * this.dimensions, last * this.dimensions, (last + 1) * this.dimensions);
      this.ids[row] = moved;
      this.rowById.set(moved, row);
    }
  }

  /** The `count` rows nearest to `query` by cosine, every row scored (`count` ≤ size). */
  search(query: Float32Array, count: number): FlatMatches {
    if (this.ids.length === 0 || count <= 0) return { ids: [], scores: [] };
    // The binding reads a typed array from the start of its ArrayBuffer: the query gets a buffer of
    // its own (and unit length), the rows are a view from offset 0.
    const unit = new Float32Array(this.dimensions);
    let norm = 0;
    for (let d = 0; d < this.dimensions; d++) norm += (query[d] as number) ** 2;
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < this.dimensions; d++) unit[d] = (query[d] as number) * scale;
    const wanted = Math.min(count, this.ids.length);
    const matches = exactSearch(
      this.rows.subarray(0, this.ids.length * this.dimensions),
      unit,
      this.dimensions,
      wanted,
      MetricKind.IP,
      1,
    );
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i < wanted; i++) {
      ids.push(this.ids[Number(matches.keys[i])] as string);
      // usearch's inner-product distance is 1 − dot.
      scores.push(1 - (matches.distances[i] as number));
    }
    return { ids, scores };
  }

  /** A copy of the rows in `rowIds()` order, as bytes (platform byte order), for saving. */
  bytes(): Uint8Array {
    const used = this.rows.slice(0, this.ids.length * this.dimensions);
    return new Uint8Array(used.buffer, 0, used.byteLength);
  }

  private capacityFor(rows: number): number {
    let capacity = Math.max(1, Math.min(INITIAL_ROWS, this.maxRows));
    while (capacity < rows) capacity *= 2;
    return Math.max(rows, Math.min(capacity, this.maxRows));
  }

  private grow(rows: number): void {
    if (rows * this.dimensions <= this.rows.length) return;
    const larger = new Float32Array(this.capacityFor(rows) * this.dimensions);
    larger.set(this.rows);
    this.rows = larger;
  }
}
