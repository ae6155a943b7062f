import { exactSearch, MetricKind } from 'usearch';
import { BestHits, unitVector } from '../near-duplicates';

/**
 * Rows allocated up front (a collection holds one copy per near-duplicate group, most of them
 * small); capacity then doubles up to DOUBLING_ROWS and grows by a quarter beyond, up to the bound.
 */
const INITIAL_ROWS = 4;
const DOUBLING_ROWS = 16_384;

export interface FlatMatches {
  ids: string[];
  /** Cosine similarity of each id to the query, best first. */
  scores: number[];
}

/**
 * Float32 rows of unit vectors for exact scoring: usearch's inner-product scan (`exactSearch`, SIMD,
 * one thread) over them ranks by cosine. The usearch JS binding cannot read vectors back out of an
 * index (it has no `get`), so the embedded store keeps every point's vector in copies like this one
 * (its representatives' and each near-duplicate group's). Rows stay dense: a removed row is filled
 * with the last one (a position map finds each id's row).
 *
 * Cost at 512 dimensions, measured by `npm run bench:recall`: 2,048 bytes of row per point plus the
 * position map, and up to twice the rows' share just after capacity doubled (under 16,384 rows) or
 * a quarter more (beyond). Writing a row is a copy and a normalisation (about a microsecond).
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
    readonly maxRows = Number.POSITIVE_INFINITY,
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

  has(id: string): boolean {
    return this.rowById.has(id);
  }

  /** A copy of the (unit) row of `id`, in a buffer of its own. */
  row(id: string): Float32Array {
    const row = this.rowById.get(id);
    if (row === undefined) throw new RangeError(`no row for ${id}`);
    return this.rows.slice(row * this.dimensions, (row + 1) * this.dimensions);
  }

  /** The cosine of `id`'s row with a unit vector. */
  score(id: string, unit: Float32Array): number {
    const row = this.rowById.get(id);
    if (row === undefined) throw new RangeError(`no row for ${id}`);
    const offset = row * this.dimensions;
    let dot = 0;
    for (let d = 0; d < this.dimensions; d++) dot += (this.rows[offset + d] as number) * (unit[d] as number);
    return dot;
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
    return this.searchUnit(unitVector(query), count);
  }

  /** As `search`, for a query already of unit length in a buffer of its own (see `unitVector`). */
  searchUnit(unit: Float32Array, count: number): FlatMatches {
    if (this.ids.length === 0 || count <= 0) return { ids: [], scores: [] };
    const wanted = Math.min(count, this.ids.length);
    // The rows are a view from offset 0 of their buffer, as the binding reads them.
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

  /** The lowest cosine of any row with a unit vector (1 when there are no rows). */
  lowestScore(unit: Float32Array): number {
    if (this.ids.length === 0) return 1;
    const all = this.searchUnit(unit, this.ids.length);
    return all.scores[all.scores.length - 1] as number;
  }

  /** A copy of the rows in `rowIds()` order, as bytes (platform byte order), for saving. */
  bytes(): Uint8Array {
    const used = this.rows.slice(0, this.ids.length * this.dimensions);
    return new Uint8Array(used.buffer, 0, used.byteLength);
  }

  private capacityFor(rows: number): number {
    let capacity = Math.max(1, Math.min(INITIAL_ROWS, this.maxRows));
    while (capacity < rows) capacity = capacity < DOUBLING_ROWS ? capacity * 2 : Math.ceil(capacity * 1.25);
    return Math.max(rows, Math.min(capacity, this.maxRows));
  }

  private grow(rows: number): void {
    if (rows * this.dimensions <= this.rows.length) return;
    const larger = new Float32Array(this.capacityFor(rows) * this.dimensions);
    larger.set(this.rows);
    this.rows = larger;
  }
}

/**
 * Offers the rows of `rows` to `best` in order of score, fetching `first` of them and then four
 * times as many each round, until the rest cannot get in (the last row fetched scores no higher
 * than `best`'s floor) or every row was offered. `offer` may refuse a row (a filter), which is why
 * one round can fall short.
 */
export function scanRows(
  rows: FlatCopy,
  unit: Float32Array,
  first: number,
  best: BestHits,
  offer: (id: string, score: number) => void,
): void {
  let offered = 0;
  let fetch = Math.min(rows.size, Math.max(1, first));
  for (;;) {
    const matches = rows.searchUnit(unit, fetch);
    for (let i = offered; i < matches.ids.length; i++) {
      const score = matches.scores[i] as number;
      if (best.full && score <= best.floor) return;
      offer(matches.ids[i] as string, score);
    }
    const last = matches.scores[matches.scores.length - 1];
    if (fetch >= rows.size || last === undefined || (best.full && last <= best.floor)) return;
    offered = fetch;
    fetch = Math.min(rows.size, fetch * 4);
  }
}
