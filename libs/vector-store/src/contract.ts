import {
  Payload,
  PayloadValue,
  SearchHit,
  VectorPoint,
  VectorStore,
  VectorStoreError,
  VectorStoreErrorCode,
} from './vector-store';
import { cosine, duplicateHeavyVectors, randomVectors } from './testing/vectors';

export { cosine, duplicateHeavyVectors, randomVectors, seededRandom } from './testing/vectors';

/** What a contract run needs from an adapter under test. */
export interface ContractSubject {
  store: VectorStore;
  /**
   * Closes the store and opens a new one over the same storage; the suite carries on with the new one.
   * Required: persistence is part of the contract, so no adapter passes it without showing it.
   */
  reopen: () => Promise<VectorStore>;
  /** Closes the current store and releases its storage. */
  cleanup: () => Promise<void>;
}

/** Independent of the stores' own matching: every listed key present with a strictly equal value. */
function matches(payload: Payload, filter: Record<string, PayloadValue>): boolean {
  return Object.entries(filter).every(([key, value]) => key in payload && payload[key] === value);
}

function bruteForce(
  points: VectorPoint[],
  query: Float32Array,
  k: number,
  filter: Record<string, PayloadValue> = {},
): { id: string; score: number }[] {
  return points
    .filter((point) => matches(point.payload, filter))
    .map((point) => ({ id: point.id, score: cosine(point.vector, query) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

function expectBestFirst(hits: SearchHit[]): void {
  for (let i = 1; i < hits.length; i++) {
    expect((hits[i - 1] as SearchHit).score).toBeGreaterThanOrEqual((hits[i] as SearchHit).score - 1e-6);
  }
}

async function expectStoreError(pending: Promise<unknown>, code: VectorStoreErrorCode): Promise<void> {
  const outcome = await pending.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(outcome).toBeInstanceOf(VectorStoreError);
  expect((outcome as VectorStoreError).code).toBe(code);
}

const points = (prefix: string, vectors: Float32Array[], payload: (i: number) => Payload = () => ({})) =>
  vectors.map((vector, i): VectorPoint => ({ id: `${prefix}${i}`, vector, payload: payload(i) }));

/**
 * The behaviour every VectorStore adapter must show. Each test works in collections of its own
 * (keys unique to the run), so tests share one store yet depend on no order, and a shared server
 * (Qdrant, PostgreSQL) is left as it was found.
 */
export function describeVectorStoreContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`VectorStore contract: ${name}`, () => {
    const run = `vs${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
    const created: string[] = [];
    const aliases: string[] = [];
    let counter = 0;
    let subject: ContractSubject | undefined;
    let store: VectorStore;

    const freshKey = (label: string): string => {
      const key = `${run}-${++counter}-${label}`;
      created.push(key);
      return key;
    };

    /** A name for an alias, dropped after the run (dropping its collection drops it too). */
    const freshAlias = (label: string): string => {
      const alias = `${run}-${++counter}-${label}`;
      aliases.push(alias);
      return alias;
    };

    /** The `side` payload of every hit of an answer, which must all be the same. */
    const sideOf = (hits: SearchHit[]): unknown => {
      const sides = new Set(hits.map((hit) => hit.payload['side']));
      if (sides.size !== 1) throw new Error(`an answer mixing sides ${JSON.stringify([...sides])}`);
      return [...sides][0];
    };

    /** The adapter's reopen; the caller carries on with the store it returns. */
    const reopen = (): Promise<VectorStore> => {
      if (subject === undefined) throw new Error(`${name}: the factory failed (see beforeAll)`);
      return subject.reopen();
    };

    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    }, 60_000);

    afterAll(async () => {
      if (subject === undefined) return;
      for (const alias of aliases) await store.dropAlias(alias).catch(() => undefined);
      for (const key of created) await store.dropCollection(key).catch(() => undefined);
      await subject.cleanup();
    });

    it('creates collections idempotently and refuses other dimensions', async () => {
      const key = freshKey('ensure');
      await store.ensureCollection(key, 4);
      await store.ensureCollection(key, 4);
      expect(await store.info(key)).toEqual({ key, dimensions: 4, count: 0 });
      await expectStoreError(store.ensureCollection(key, 5), 'dimension_mismatch');
      expect(await store.info(key)).toEqual({ key, dimensions: 4, count: 0 });
    });

    it('rejects malformed keys, dimensions, points and queries, writing nothing', async () => {
      for (const bad of ['', 'Upper', '-lead', '_lead', 'has space', 'dot.ted', 'a'.repeat(202)]) {
        await expectStoreError(store.ensureCollection(bad, 4), 'invalid_argument');
      }
      const key = freshKey('malformed');
      for (const bad of [0, -1, 1.5, Number.NaN, 16_001]) {
        await expectStoreError(store.ensureCollection(key, bad), 'invalid_argument');
      }
      await store.ensureCollection(key, 4);
      const good: VectorPoint = { id: 'good', vector: Float32Array.of(1, 0, 0, 0), payload: { a: 1 } };
      const refused: [VectorPoint, VectorStoreErrorCode][] = [
        [{ ...good, vector: Float32Array.of(1, 0, 0) }, 'dimension_mismatch'],
        [{ ...good, vector: Float32Array.of(1, Number.NaN, 0, 0) }, 'invalid_argument'],
        [{ ...good, vector: new Float32Array(4) }, 'invalid_argument'],
        [{ ...good, vector: [1, 0, 0, 0] as unknown as Float32Array }, 'invalid_argument'],
        [{ ...good, id: '' }, 'invalid_argument'],
        [{ ...good, id: 'x'.repeat(257) }, 'invalid_argument'],
        [{ ...good, payload: { nested: {} } as unknown as Payload }, 'invalid_argument'],
        [{ ...good, payload: { '': 1 } }, 'invalid_argument'],
        [{ ...good, payload: { n: Number.POSITIVE_INFINITY } }, 'invalid_argument'],
      ];
      for (const [bad, code] of refused) await expectStoreError(store.upsert(key, [good, bad]), code);
      expect((await store.info(key))?.count).toBe(0);

      const vector = Float32Array.of(0, 1, 0, 0);
      await expectStoreError(store.search(key, { vector, k: 0 }), 'invalid_argument');
      await expectStoreError(store.search(key, { vector, k: 1.5 }), 'invalid_argument');
      await expectStoreError(
        store.search(key, { vector: Float32Array.of(1, 0), k: 1 }),
        'dimension_mismatch',
      );
      const objectFilter = { a: {} } as unknown as Payload;
      await expectStoreError(store.search(key, { vector, k: 1, filter: objectFilter }), 'invalid_argument');
      await expectStoreError(store.delete(key, ['']), 'invalid_argument');

      const longId = 'é'.repeat(256);
      await store.upsert(key, [{ ...good, id: longId }]);
      expect((await store.search(key, { vector: good.vector, k: 1 }))[0]?.id).toBe(longId);
    });

    it('finds a point as soon as upsert resolves, scoring about 1 against itself', async () => {
      const key = freshKey('immediate');
      await store.ensureCollection(key, 32);
      const stored = points('p', randomVectors(3, 32, 1), (i) => ({
        label: `item ${i}`,
        rank: i + 0.5,
        even: i % 2 === 0,
        missing: null,
      }));
      await store.upsert(key, stored);
      const target = stored[1] as VectorPoint;
      const [hit, ...rest] = await store.search(key, { vector: target.vector, k: 1 });
      expect(rest).toEqual([]);
      expect(hit?.id).toBe(target.id);
      expect(hit?.score).toBeCloseTo(1, 4);
      expect(hit?.payload).toEqual(target.payload);
      const all = await store.search(key, { vector: target.vector, k: 3 });
      expect(all.map((h) => h.id).sort()).toEqual(['p0', 'p1', 'p2']);
      expectBestFirst(all);
    });

    it('ranks like brute-force cosine: recall@10 of at least 0.95 over 2,000 random 32-d vectors', async () => {
      const key = freshKey('recall');
      await store.ensureCollection(key, 32);
      const stored = points('r', randomVectors(2000, 32, 2));
      for (let start = 0; start < stored.length; start += 500) {
        await store.upsert(key, stored.slice(start, start + 500));
      }
      expect((await store.info(key))?.count).toBe(2000);
      let found = 0;
      let worstScoreError = 0;
      const queries = randomVectors(25, 32, 3);
      for (const query of queries) {
        const hits = await store.search(key, { vector: query, k: 10 });
        expect(hits).toHaveLength(10);
        expectBestFirst(hits);
        const truth = new Set(bruteForce(stored, query, 10).map((hit) => hit.id));
        found += hits.filter((hit) => truth.has(hit.id)).length;
        for (const hit of hits) {
          const point = stored[Number(hit.id.slice(1))] as VectorPoint;
          worstScoreError = Math.max(worstScoreError, Math.abs(hit.score - cosine(point.vector, query)));
        }
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.95);
      expect(worstScoreError).toBeLessThan(1e-3);

      // A k beyond an HNSW scan's candidate list (pgvector's ef_search is 40) still gets k hits.
      const wide = await store.search(key, { vector: queries[0] as Float32Array, k: 100 });
      expect(wide).toHaveLength(100);
      expectBestFirst(wide);
      const wideTruth = new Set(bruteForce(stored, queries[0] as Float32Array, 100).map((hit) => hit.id));
      expect(wide.filter((hit) => wideTruth.has(hit.id)).length).toBeGreaterThanOrEqual(95);
    });

    it('ranks like brute force on a duplicate-heavy collection: recall@10 of at least 0.99', async () => {
      const key = freshKey('crowd-recall');
      await store.ensureCollection(key, 64);
      // Distinct points first, then the crowd: the order in which HNSW loses the distinct ones.
      const { distinct, crowd } = duplicateHeavyVectors(100, 3000, 64, 40);
      const stored = [...points('u', distinct), ...points('c', crowd, (i) => ({ odd: i % 2 === 1 }))];
      for (let start = 0; start < stored.length; start += 500) {
        await store.upsert(key, stored.slice(start, start + 500));
      }
      expect((await store.info(key))?.count).toBe(3100);
      const byId = new Map(stored.map((point) => [point.id, point]));
      // Distinct points' own vectors, crowd members' own vectors, and blends of a distinct point with
      // the crowd (a query between the two regions).
      const queries = [
        ...distinct.slice(0, 30),
        ...crowd.filter((_, i) => i % 100 === 7),
        ...distinct
          .slice(30, 50)
          .map((vector, i) => vector.map((x, d) => x + ((crowd[i] as Float32Array)[d] as number))),
      ];
      let found = 0;
      let worstScoreError = 0;
      for (const query of queries) {
        const hits = await store.search(key, { vector: query, k: 10 });
        expect(hits).toHaveLength(10);
        expectBestFirst(hits);
        const truth = bruteForce(stored, query, 10);
        const truthIds = new Set(truth.map((hit) => hit.id));
        // A tie with the 10th true neighbour counts as found (near-identical points score alike).
        const bar = (truth[9]?.score ?? -1) - 1e-5;
        for (const hit of hits) {
          const exact = cosine((byId.get(hit.id) as VectorPoint).vector, query);
          if (truthIds.has(hit.id) || exact >= bar) found++;
          worstScoreError = Math.max(worstScoreError, Math.abs(hit.score - exact));
        }
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.99);
      expect(worstScoreError).toBeLessThan(1e-3);

      // Filtered: only the odd crowd members, like brute force.
      const filtered = await store.search(key, {
        vector: distinct[0] as Float32Array,
        k: 10,
        filter: { odd: true },
      });
      const filteredTruth = bruteForce(stored, distinct[0] as Float32Array, 10, { odd: true });
      expect(filtered.map((hit) => hit.id)).toEqual(filteredTruth.map((hit) => hit.id));
    });

    it('finds each stored point first by its own vector among thousands of near-duplicates, k = 10 and 100', async () => {
      const key = freshKey('crowd-exact');
      await store.ensureCollection(key, 64);
      const { distinct, crowd } = duplicateHeavyVectors(20, 2000, 64, 50);
      const sentences = points('s', distinct);
      await store.upsert(key, sentences);
      const firstOf = async (k: number): Promise<string[]> => {
        const firsts: string[] = [];
        for (const point of sentences)
          firsts.push((await store.search(key, { vector: point.vector, k }))[0]?.id ?? '');
        return firsts;
      };
      const ids = sentences.map((point) => point.id);
      expect(await firstOf(10)).toEqual(ids);
      for (let start = 0; start < crowd.length; start += 500) {
        await store.upsert(key, points(`t${start}-`, crowd.slice(start, start + 500)));
      }
      expect(await firstOf(10)).toEqual(ids);
      expect(await firstOf(100)).toEqual(ids);
      await store.flush();
      store = await reopen();
      expect(await firstOf(10)).toEqual(ids);
      expect(await firstOf(100)).toEqual(ids);
    });

    it('keeps recall@10 ≥ 0.99 among near-duplicates through deletes of the crowd, moves in and out of it, and a reopen', async () => {
      const key = freshKey('crowd-churn');
      const dimensions = 64;
      await store.ensureCollection(key, dimensions);
      const { distinct, crowd } = duplicateHeavyVectors(50, 2000, dimensions, 60);
      const live = new Map<string, VectorPoint>();
      const stored = [...points('u', distinct), ...points('c', crowd, () => ({ crowd: true }))];
      for (const point of stored) live.set(point.id, point);
      for (let start = 0; start < stored.length; start += 500) {
        await store.upsert(key, stored.slice(start, start + 500));
      }
      // The first of the crowd (whichever of them stand for the rest) go, a few at a time.
      const deleted = crowd.slice(0, 200).map((_, i) => `c${i}`);
      for (let start = 0; start < deleted.length; start += 50) {
        expect(await store.delete(key, deleted.slice(start, start + 50))).toBe(50);
      }
      for (const id of deleted) live.delete(id);
      // A crowd member moves away from the crowd, a distinct point into it.
      const away = randomVectors(1, dimensions, 61)[0] as Float32Array;
      const into = (crowd[300] as Float32Array).map(
        (x, d) => x + ((crowd[301] as Float32Array)[d] as number),
      );
      const moves: VectorPoint[] = [
        { id: 'c400', vector: away, payload: { moved: 'out' } },
        { id: 'u3', vector: into, payload: { moved: 'in', crowd: true } },
      ];
      await store.upsert(key, moves);
      for (const point of moves) live.set(point.id, point);
      expect((await store.info(key))?.count).toBe(live.size);

      const content = [...live.values()];
      const queries = [
        ...distinct.slice(0, 20),
        ...crowd.filter((_, i) => i >= 200 && i % 200 === 7),
        ...distinct
          .slice(20, 30)
          .map((v, i) => v.map((x, d) => x + ((crowd[200 + i] as Float32Array)[d] as number))),
        away,
        into,
      ];
      const check = async (): Promise<void> => {
        let found = 0;
        for (const query of queries) {
          const hits = await store.search(key, { vector: query, k: 10 });
          expectBestFirst(hits);
          const truth = bruteForce(content, query, 10);
          const bar = (truth[9]?.score ?? -1) - 1e-5;
          for (const hit of hits) if (cosine((live.get(hit.id) as VectorPoint).vector, query) >= bar) found++;
        }
        expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.99);
        // Every tenth point, and the moved ones, first for their own vectors.
        for (const point of [...content.filter((_, i) => i % 10 === 0), ...moves]) {
          const [hit] = await store.search(key, { vector: point.vector, k: 1 });
          expect(hit?.id).toBe(point.id);
          expect(hit?.payload).toEqual(point.payload);
        }
        // A filter that only crowd members match: all of them, best first.
        const inCrowd = await store.search(key, {
          vector: crowd[500] as Float32Array,
          k: 5000,
          filter: { crowd: true },
        });
        expectBestFirst(inCrowd);
        expect(inCrowd.map((hit) => hit.id).sort()).toEqual(
          content
            .filter((point) => point.payload['crowd'] === true)
            .map((point) => point.id)
            .sort(),
        );
      };
      await check();
      await store.flush();
      store = await reopen();
      await check();
    }, 120_000);

    it('replaces a point upserted again under the same id', async () => {
      const key = freshKey('replace');
      await store.ensureCollection(key, 16);
      const [oldVector, newVector, first, last, ...others] = randomVectors(14, 16, 4) as [
        Float32Array,
        Float32Array,
        Float32Array,
        Float32Array,
        ...Float32Array[],
      ];
      await store.upsert(
        key,
        points('o', others, () => ({ rev: 1 })),
      );
      await store.upsert(key, [{ id: 'moved', vector: oldVector, payload: { rev: 1 } }]);
      await store.upsert(key, [{ id: 'moved', vector: newVector, payload: { rev: 2 } }]);
      expect((await store.info(key))?.count).toBe(11);

      const [top] = await store.search(key, { vector: newVector, k: 1 });
      expect(top).toMatchObject({ id: 'moved', payload: { rev: 2 } });
      expect(top?.score).toBeCloseTo(1, 4);
      const nearOld = await store.search(key, { vector: oldVector, k: 11 });
      const moved = nearOld.find((hit) => hit.id === 'moved');
      expect(moved?.score).toBeCloseTo(cosine(oldVector, newVector), 3);
      expect(nearOld.filter((hit) => hit.score > 0.999)).toEqual([]);

      // The same id twice in one batch: one point, the later one.
      await store.upsert(key, [
        { id: 'twice', vector: first, payload: { rev: 1 } },
        { id: 'twice', vector: last, payload: { rev: 2 } },
      ]);
      expect((await store.info(key))?.count).toBe(12);
      const [twice] = await store.search(key, { vector: last, k: 1 });
      expect(twice).toMatchObject({ id: 'twice', payload: { rev: 2 } });
    });

    it('deletes by id, counting only the points that existed', async () => {
      const key = freshKey('delete');
      await store.ensureCollection(key, 16);
      const stored = points('d', randomVectors(20, 16, 5));
      await store.upsert(key, stored);
      expect(await store.delete(key, ['d1', 'd2', 'never', 'd1'])).toBe(2);
      expect(await store.delete(key, ['d1'])).toBe(0);
      expect(await store.delete(key, [])).toBe(0);
      expect((await store.info(key))?.count).toBe(18);
      for (const gone of [stored[1], stored[2]] as VectorPoint[]) {
        const hits = await store.search(key, { vector: gone.vector, k: 20 });
        expect(hits).toHaveLength(18);
        expect(hits.map((hit) => hit.id)).not.toContain('d1');
        expect(hits.map((hit) => hit.id)).not.toContain('d2');
      }
      await store.upsert(key, [stored[1] as VectorPoint]);
      expect((await store.info(key))?.count).toBe(19);
      expect((await store.search(key, { vector: (stored[1] as VectorPoint).vector, k: 1 }))[0]?.id).toBe(
        'd1',
      );
    });

    it('filters by exact payload match on every listed key (AND), like brute force', async () => {
      const key = freshKey('filter');
      await store.ensureCollection(key, 32);
      const colors = ['red', 'green', 'blue'];
      const weights = [0.25, 0.5, 1.5, 2.75, -1];
      const stored = points('f', randomVectors(1000, 32, 6), (i) => ({
        color: colors[i % 3] as string,
        size: i % 4,
        weight: weights[i % 5] as number,
        flag: i % 2 === 0,
        note: i % 7 === 0 ? null : `n${i % 7}`,
        tag: `t${i}`,
        // Keys are the caller's: dots, brackets, spaces, an `_id` of its own.
        'm_lang.code': i % 2 === 0 ? 'en' : 'de',
        'tags[]': i % 3 === 0,
        'with space': i % 5,
        _id: `own-${i % 4}`,
      }));
      await store.upsert(key, stored);
      const filters: Record<string, PayloadValue>[] = [
        { color: 'red' },
        { size: 2 },
        { weight: 0.5 },
        { weight: -1 },
        { flag: true },
        { note: null },
        { color: 'red', flag: false },
        { color: 'blue', size: 3, flag: true },
        { color: 'green', weight: 2.75, note: 'n3' },
        { tag: 't17' },
        { tag: 't17', color: 'blue' },
        { color: 'purple' },
        { size: '2' },
        { flag: 'true' },
        { 'm_lang.code': 'de', 'tags[]': true },
        { 'with space': 4, _id: 'own-1' },
      ];
      const queries = randomVectors(3, 32, 7);
      let expected = 0;
      let found = 0;
      for (const filter of filters) {
        for (const query of queries) {
          const truth = bruteForce(stored, query, 10, filter);
          const hits = await store.search(key, { vector: query, k: 10, filter });
          expect({ filter, count: hits.length }).toEqual({ filter, count: truth.length });
          expectBestFirst(hits);
          for (const hit of hits) {
            const point = stored[Number(hit.id.slice(1))] as VectorPoint;
            expect({ filter, matches: matches(point.payload, filter) }).toEqual({ filter, matches: true });
            expect(hit.payload).toEqual(point.payload);
          }
          const truthIds = new Set(truth.map((hit) => hit.id));
          found += hits.filter((hit) => truthIds.has(hit.id)).length;
          expected += truth.length;
          if (truth.length < 10) expect(hits.map((hit) => hit.id).sort()).toEqual([...truthIds].sort());
        }
      }
      expect(found / expected).toBeGreaterThanOrEqual(0.95);
    });

    it('returns every point when k exceeds the count', async () => {
      const key = freshKey('small');
      await store.ensureCollection(key, 8);
      const stored = points('s', randomVectors(5, 8, 8), (i) => ({ odd: i % 2 === 1 }));
      await store.upsert(key, stored);
      const query = randomVectors(1, 8, 9)[0] as Float32Array;
      const hits = await store.search(key, { vector: query, k: 50 });
      expect(hits.map((hit) => hit.id)).toEqual(bruteForce(stored, query, 50).map((hit) => hit.id));
      expect(await store.search(key, { vector: query, k: 50, filter: { odd: true } })).toHaveLength(2);
      const empty = freshKey('empty');
      await store.ensureCollection(empty, 8);
      expect(await store.search(empty, { vector: query, k: 5 })).toEqual([]);
    });

    it('refuses work on a collection that does not exist', async () => {
      const key = freshKey('unknown');
      const point: VectorPoint = { id: 'a', vector: Float32Array.of(1, 0), payload: {} };
      await expectStoreError(store.upsert(key, [point]), 'unknown_collection');
      await expectStoreError(store.search(key, { vector: point.vector, k: 1 }), 'unknown_collection');
      await expectStoreError(store.delete(key, ['a']), 'unknown_collection');
      expect(await store.info(key)).toBeUndefined();
      expect(await store.list(key)).toEqual([]);
      await store.dropCollection(key);
    });

    it('keeps collections apart: search, count and delete see only their own points', async () => {
      const a = freshKey('side-a');
      const b = freshKey('side-b');
      const c = freshKey('side-c');
      await store.ensureCollection(a, 8);
      await store.ensureCollection(b, 8);
      await store.ensureCollection(c, 16);
      const vectorsA = randomVectors(6, 8, 10);
      const vectorsB = randomVectors(5, 8, 11);
      // The same ids in both collections, with other vectors and payloads.
      await store.upsert(
        a,
        points('x', vectorsA, () => ({ side: 'a' })),
      );
      await store.upsert(
        b,
        points('x', vectorsB, () => ({ side: 'b' })),
      );
      await store.upsert(
        c,
        points('x', randomVectors(3, 16, 12), () => ({ side: 'c' })),
      );
      expect((await store.info(a))?.count).toBe(6);
      expect((await store.info(b))?.count).toBe(5);
      expect((await store.info(c))?.count).toBe(3);

      const onlyInA = vectorsA[5] as Float32Array;
      const fromB = await store.search(b, { vector: onlyInA, k: 10 });
      expect(fromB.map((hit) => hit.id).sort()).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
      expect(fromB.every((hit) => hit.payload['side'] === 'b')).toBe(true);
      expect(await store.search(b, { vector: onlyInA, k: 10, filter: { side: 'a' } })).toEqual([]);

      expect(await store.delete(b, ['x5'])).toBe(0);
      expect(await store.delete(a, ['x1'])).toBe(1);
      expect((await store.info(b))?.count).toBe(5);
      const [stillInB] = await store.search(b, { vector: vectorsB[1] as Float32Array, k: 1 });
      expect(stillInB).toMatchObject({ id: 'x1', payload: { side: 'b' } });
      expect(stillInB?.score).toBeCloseTo(1, 4);

      await store.dropCollection(a);
      expect(await store.info(a)).toBeUndefined();
      expect((await store.info(b))?.count).toBe(5);
      expect((await store.info(c))?.count).toBe(3);
    });

    it('takes the longest keys and keeps keys that share a long prefix apart', async () => {
      const base = freshKey('long');
      const first = `${base}-${'k'.repeat(200 - base.length)}`.slice(0, 200) + 'a';
      const second = first.slice(0, 200) + 'b';
      created.push(first, second);
      expect(first).toHaveLength(201);
      await store.ensureCollection(first, 4);
      await store.ensureCollection(second, 8);
      await store.upsert(first, [{ id: 'one', vector: Float32Array.of(1, 2, 3, 4), payload: {} }]);
      expect(await store.info(first)).toEqual({ key: first, dimensions: 4, count: 1 });
      expect(await store.info(second)).toEqual({ key: second, dimensions: 8, count: 0 });
      expect((await store.list(first.slice(0, 200))).map((info) => info.key)).toEqual([first, second]);
    });

    it('reports info and lists collections by prefix', async () => {
      const prefix = freshKey('list');
      const [a, b] = [`${prefix}-a`, `${prefix}-b`];
      created.push(a, b);
      await store.ensureCollection(b, 8);
      await store.ensureCollection(a, 4);
      await store.upsert(a, points('l', randomVectors(3, 4, 13)));
      expect(await store.list(prefix)).toEqual([
        { key: a, dimensions: 4, count: 3 },
        { key: b, dimensions: 8, count: 0 },
      ]);
      expect(await store.list(a)).toEqual([{ key: a, dimensions: 4, count: 3 }]);
      expect((await store.list()).map((info) => info.key)).toEqual(expect.arrayContaining([a, b]));
      expect(await store.list(`${prefix}-z`)).toEqual([]);
      await store.dropCollection(b);
      expect((await store.list(prefix)).map((info) => info.key)).toEqual([a]);
    });

    it('drops a collection, after which its key starts afresh', async () => {
      const key = freshKey('drop');
      await store.ensureCollection(key, 4);
      await store.upsert(key, points('g', randomVectors(4, 4, 14)));
      await store.dropCollection(key);
      await store.dropCollection(key);
      expect(await store.info(key)).toBeUndefined();
      await expectStoreError(
        store.search(key, { vector: Float32Array.of(1, 0, 0, 0), k: 1 }),
        'unknown_collection',
      );
      await store.ensureCollection(key, 8);
      expect(await store.info(key)).toEqual({ key, dimensions: 8, count: 0 });
      expect(await store.search(key, { vector: randomVectors(1, 8, 15)[0] as Float32Array, k: 3 })).toEqual(
        [],
      );
    });

    it('keeps points, payloads and deletions across a reopen', async () => {
      const key = freshKey('persist');
      const emptyKey = freshKey('persist-empty');
      await store.ensureCollection(key, 16);
      await store.ensureCollection(emptyKey, 4);
      const stored = points('k', randomVectors(50, 16, 16), (i) => ({ i, name: `n${i}` }));
      await store.upsert(key, stored);
      await store.delete(key, ['k3', 'k4', 'k5']);
      const replacement = randomVectors(1, 16, 17)[0] as Float32Array;
      await store.upsert(key, [{ id: 'k6', vector: replacement, payload: { i: 6, name: 'replaced' } }]);
      const queries = randomVectors(5, 16, 18);
      const before = await Promise.all(queries.map((vector) => store.search(key, { vector, k: 10 })));
      await store.flush();

      store = await reopen();

      expect(await store.info(key)).toEqual({ key, dimensions: 16, count: 47 });
      expect(await store.info(emptyKey)).toEqual({ key: emptyKey, dimensions: 4, count: 0 });
      const after = await Promise.all(queries.map((vector) => store.search(key, { vector, k: 10 })));
      expect(after.map((hits) => hits.map((hit) => hit.id))).toEqual(
        before.map((hits) => hits.map((hit) => hit.id)),
      );
      after
        .flat()
        .forEach((hit, i) => expect(hit.score).toBeCloseTo((before.flat()[i] as SearchHit).score, 5));
      const everything = await store.search(key, { vector: (stored[0] as VectorPoint).vector, k: 100 });
      expect(everything.map((hit) => hit.id).sort()).toEqual(
        stored
          .map((point) => point.id)
          .filter((id) => !['k3', 'k4', 'k5'].includes(id))
          .sort(),
      );
      expect(everything.find((hit) => hit.id === 'k6')?.payload).toEqual({ i: 6, name: 'replaced' });

      // New points after the reopen get identities of their own: old points still answer for themselves.
      await store.upsert(key, points('new', randomVectors(10, 16, 19)));
      for (const point of stored.slice(10, 20)) {
        const [hit] = await store.search(key, { vector: point.vector, k: 1 });
        expect(hit?.id).toBe(point.id);
      }
    });

    it('reaches the collection an alias names by search, info, upsert and delete', async () => {
      const a = freshKey('named-a');
      const b = freshKey('named-b');
      const alias = freshAlias('named');
      await store.ensureCollection(a, 8);
      await store.ensureCollection(b, 8);
      await store.upsert(
        a,
        points('a', randomVectors(6, 8, 30), () => ({ side: 'a' })),
      );
      await store.upsert(
        b,
        points('b', randomVectors(4, 8, 31), () => ({ side: 'b' })),
      );
      await store.alias(alias, a);
      await store.alias(alias, a);

      const query = randomVectors(1, 8, 32)[0] as Float32Array;
      const hits = await store.search(alias, { vector: query, k: 10 });
      expect(hits.map((hit) => hit.id).sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
      expect(sideOf(hits)).toBe('a');
      expect(await store.search(alias, { vector: query, k: 10, filter: { side: 'b' } })).toEqual([]);
      expect(await store.info(alias)).toEqual({ key: a, dimensions: 8, count: 6 });
      // Aliases are not collections: not listed, not created, not dropped.
      expect(await store.list(alias)).toEqual([]);
      await store.ensureCollection(alias, 8);
      await expectStoreError(store.ensureCollection(alias, 4), 'dimension_mismatch');
      await store.dropCollection(alias);
      expect(await store.info(a)).toEqual({ key: a, dimensions: 8, count: 6 });

      const extra: VectorPoint = { id: 'via-alias', vector: query, payload: { side: 'a' } };
      await store.upsert(alias, [extra]);
      expect((await store.info(a))?.count).toBe(7);
      expect((await store.search(a, { vector: query, k: 1 }))[0]?.id).toBe('via-alias');
      expect(await store.delete(alias, ['via-alias', 'b0'])).toBe(1);
      expect((await store.info(a))?.count).toBe(6);
      expect((await store.info(b))?.count).toBe(4);
    });

    it('switches an alias atomically: concurrent searches by it each answer wholly from one collection', async () => {
      const a = freshKey('switch-a');
      const b = freshKey('switch-b');
      const alias = freshAlias('switch');
      await store.ensureCollection(a, 16);
      await store.ensureCollection(b, 16);
      await store.upsert(
        a,
        points('a', randomVectors(30, 16, 33), () => ({ side: 'a' })),
      );
      await store.upsert(
        b,
        points('b', randomVectors(30, 16, 34), () => ({ side: 'b' })),
      );
      await store.alias(alias, a);

      const answers: unknown[] = [];
      const failures: unknown[] = [];
      let switching = true;
      const searchMeanwhile = async (seed: number): Promise<void> => {
        const queries = randomVectors(8, 16, seed);
        for (let i = 0; switching; i++) {
          try {
            const hits = await store.search(alias, {
              vector: queries[i % queries.length] as Float32Array,
              k: 5,
            });
            if (hits.length !== 5) throw new Error(`an answer of ${hits.length} hits, not 5`);
            answers.push(sideOf(hits));
          } catch (err) {
            failures.push(err);
          }
          // A store that answers in the same tick would otherwise starve the switches' I/O.
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      const searching = [35, 36, 37].map(searchMeanwhile);
      const query = randomVectors(1, 16, 38)[0] as Float32Array;
      try {
        for (let i = 0; i < 40; i++) {
          const [target, side] = i % 2 === 0 ? [b, 'b'] : [a, 'a'];
          await store.alias(alias, target);
          // Once alias() resolves, the alias names the new collection.
          expect(sideOf(await store.search(alias, { vector: query, k: 5 }))).toBe(side);
          expect((await store.info(alias))?.key).toBe(target);
        }
      } finally {
        switching = false;
        await Promise.all(searching);
      }
      expect(failures).toEqual([]);
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.every((side) => side === 'a' || side === 'b')).toBe(true);
    }, 60_000);

    it('switches an alias to a collection of other dimensions', async () => {
      const small = freshKey('dims-4');
      const large = freshKey('dims-8');
      const alias = freshAlias('dims');
      await store.ensureCollection(small, 4);
      await store.ensureCollection(large, 8);
      await store.upsert(
        small,
        points('s', randomVectors(3, 4, 39), () => ({ side: 's' })),
      );
      await store.upsert(
        large,
        points('l', randomVectors(3, 8, 40), () => ({ side: 'l' })),
      );
      await store.alias(alias, small);
      expect(sideOf(await store.search(alias, { vector: Float32Array.of(1, 0, 0, 0), k: 3 }))).toBe('s');
      await store.alias(alias, large);
      const wide = randomVectors(1, 8, 41)[0] as Float32Array;
      expect(sideOf(await store.search(alias, { vector: wide, k: 3 }))).toBe('l');
      await expectStoreError(
        store.search(alias, { vector: Float32Array.of(1, 0, 0, 0), k: 3 }),
        'dimension_mismatch',
      );
      expect(await store.info(alias)).toEqual({ key: large, dimensions: 8, count: 3 });
    });

    it('drops an alias and leaves its collection; the name is then free', async () => {
      const key = freshKey('unaliased');
      const alias = freshAlias('dropped');
      created.push(alias);
      await store.ensureCollection(key, 4);
      await store.upsert(key, points('u', randomVectors(3, 4, 42)));
      await store.alias(alias, key);
      await store.dropAlias(alias);
      await store.dropAlias(alias);
      await store.dropAlias(freshAlias('never-made'));
      await expectStoreError(
        store.search(alias, { vector: Float32Array.of(1, 0, 0, 0), k: 1 }),
        'unknown_collection',
      );
      expect(await store.info(alias)).toBeUndefined();
      expect(await store.info(key)).toEqual({ key, dimensions: 4, count: 3 });
      await store.ensureCollection(alias, 8);
      expect(await store.info(alias)).toEqual({ key: alias, dimensions: 8, count: 0 });
    });

    it('refuses an alias of what is not a collection, and under a collection key, keeping what it named', async () => {
      const a = freshKey('refused-a');
      const b = freshKey('refused-b');
      const alias = freshAlias('refused');
      const other = freshAlias('refused-other');
      await store.ensureCollection(a, 4);
      await store.ensureCollection(b, 4);
      await store.upsert(
        a,
        points('a', randomVectors(2, 4, 43), () => ({ side: 'a' })),
      );
      await store.upsert(
        b,
        points('b', randomVectors(2, 4, 44), () => ({ side: 'b' })),
      );
      await store.alias(alias, a);

      await expectStoreError(store.alias(alias, freshKey('refused-missing')), 'unknown_collection');
      // An alias names a collection, not another alias.
      await expectStoreError(store.alias(other, alias), 'unknown_collection');
      await expectStoreError(store.alias(b, a), 'invalid_argument');
      for (const bad of ['', 'Upper', 'has space']) {
        await expectStoreError(store.alias(bad, a), 'invalid_argument');
        await expectStoreError(store.alias(alias, bad), 'invalid_argument');
        await expectStoreError(store.dropAlias(bad), 'invalid_argument');
      }

      const vector = Float32Array.of(1, 0, 0, 0);
      expect(sideOf(await store.search(alias, { vector, k: 2 }))).toBe('a');
      expect(await store.info(other)).toBeUndefined();
      expect(sideOf(await store.search(b, { vector, k: 2 }))).toBe('b');
    });

    it('drops a collection together with the aliases naming it', async () => {
      const key = freshKey('aliased-drop');
      const first = freshAlias('gone-1');
      const second = freshAlias('gone-2');
      created.push(first);
      await store.ensureCollection(key, 4);
      await store.upsert(key, points('d', randomVectors(2, 4, 45)));
      await store.alias(first, key);
      await store.alias(second, key);
      await store.dropCollection(key);
      const vector = Float32Array.of(1, 0, 0, 0);
      await expectStoreError(store.search(first, { vector, k: 1 }), 'unknown_collection');
      expect(await store.info(second)).toBeUndefined();
      // The key coming back does not bring its aliases back.
      await store.ensureCollection(key, 4);
      expect(await store.info(second)).toBeUndefined();
      // The names are free again.
      await store.ensureCollection(first, 4);
      expect(await store.info(first)).toEqual({ key: first, dimensions: 4, count: 0 });
    });

    it('keeps aliases across a reopen', async () => {
      const key = freshKey('aliased-persist');
      const kept = freshAlias('kept');
      const dropped = freshAlias('not-kept');
      await store.ensureCollection(key, 4);
      await store.upsert(
        key,
        points('p', randomVectors(3, 4, 46), () => ({ side: 'p' })),
      );
      await store.alias(kept, key);
      await store.alias(dropped, key);
      await store.dropAlias(dropped);
      await store.flush();

      store = await reopen();

      expect(await store.info(kept)).toEqual({ key, dimensions: 4, count: 3 });
      expect(sideOf(await store.search(kept, { vector: Float32Array.of(1, 0, 0, 0), k: 3 }))).toBe('p');
      expect(await store.info(dropped)).toBeUndefined();
    });

    it('refuses work once closed', async () => {
      const other = await factory();
      try {
        const key = `${run}-closed`;
        created.push(key);
        await other.store.ensureCollection(key, 4);
        await other.store.close();
        await expectStoreError(other.store.info(key), 'closed');
        await expectStoreError(
          other.store.search(key, { vector: Float32Array.of(1, 0, 0, 0), k: 1 }),
          'closed',
        );
        await expectStoreError(other.store.flush(), 'closed');
        await expectStoreError(other.store.alias(`${run}-closed-alias`, key), 'closed');
        await expectStoreError(other.store.dropAlias(`${run}-closed-alias`), 'closed');
        await other.store.close();
      } finally {
        await other.cleanup();
      }
    }, 60_000);
  });
}
