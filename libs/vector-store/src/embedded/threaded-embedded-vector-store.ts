import path from 'node:path';
import { parentPort, Worker, workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import {
  CollectionInfo,
  SearchHit,
  SearchQuery,
  VectorPoint,
  VectorStoreError,
  VectorStoreErrorCode,
  VectorStoreLog,
} from '../vector-store';
import { assertCollectionKey, isFloat32Array } from '../validation';
import {
  EmbeddedStore,
  EmbeddedVectorStore,
  EmbeddedVectorStoreOptions,
  RebuildSource,
  RebuiltCollection,
} from './embedded-vector-store';

/** Loads this module on the thread, compiled or through the TypeScript loader. */
const THREAD_SCRIPT = path.join(__dirname, 'embedded-store-thread.cjs');

/**
 * Points on their way to the thread: every Float32Array vector copied into one buffer (transferred,
 * not cloned; a view on a larger buffer would otherwise clone all of it), anything else sent as it
 * is so that the thread refuses it with the store's own error.
 */
interface PackedPoints {
  ids: unknown[];
  payloads: unknown[];
  /** Each vector's length in `floats`; -1 where the vector was not a Float32Array (see `others`). */
  lengths: Int32Array;
  floats: Float32Array;
  others: unknown[];
}

type WirePoints = { packed: PackedPoints } | { raw: unknown };

interface WireQuery {
  vector: unknown;
  k: unknown;
  filter: unknown;
}

type Request =
  | { op: 'ensureCollection'; key: string; dimensions: number }
  | { op: 'upsert'; key: string; points: WirePoints }
  | { op: 'delete'; key: string; ids: string[] }
  | { op: 'search'; key: string; query: WireQuery }
  | { op: 'info'; key: string }
  | { op: 'list'; prefix: string | undefined }
  | { op: 'dropCollection'; key: string }
  | { op: 'alias'; alias: string; key: string }
  | { op: 'dropAlias'; alias: string }
  | { op: 'flush' }
  | { op: 'close' }
  | { op: 'reconcile' }
  | { op: 'rebuild'; key: string; reason: string }
  | { op: 'sourceVersions' }
  | { op: 'setVersion'; key: string; version: string };

type SourceMethod = 'collections' | 'version' | 'pointsOpen' | 'pointsNext' | 'pointsClose';

interface WireError {
  name: string;
  message: string;
  code?: VectorStoreErrorCode;
}

/** Every collection on the thread with the version it reflects. */
type WireState = [key: string, version: string | undefined][];

type ToMain =
  | {
      kind: 'reply';
      id: number;
      ok: boolean;
      value?: unknown;
      error?: WireError;
      /** After open, reconcile and rebuild: the collections and versions, and the last request applied. */
      state?: WireState;
      seen?: number;
    }
  | { kind: 'log'; message: string }
  | { kind: 'source'; id: number; method: SourceMethod; arg?: unknown };

type ToThread =
  | (Request & { kind: 'call'; id: number })
  | { kind: 'source-reply'; id: number; ok: boolean; value?: unknown; error?: WireError };

interface ThreadData {
  dir: string;
  saveEveryMs: number | undefined;
  search: EmbeddedVectorStoreOptions['search'];
  hasSource: boolean;
}

const STATEFUL = new Set<Request['op']>(['reconcile', 'rebuild']);

function packPoints(points: VectorPoint[]): { wire: WirePoints; transfer: TransferListItem[] } {
  if (!Array.isArray(points)) return { wire: { raw: points }, transfer: [] };
  let total = 0;
  for (const point of points) if (isFloat32Array(point.vector)) total += point.vector.length;
  const floats = new Float32Array(total);
  const lengths = new Int32Array(points.length);
  const others: unknown[] = [];
  let offset = 0;
  points.forEach((point, i) => {
    if (isFloat32Array(point.vector)) {
      floats.set(point.vector, offset);
      offset += point.vector.length;
      lengths[i] = point.vector.length;
    } else {
      lengths[i] = -1;
      others[i] = point.vector;
    }
  });
  const packed: PackedPoints = {
    ids: points.map((point) => point.id),
    payloads: points.map((point) => point.payload),
    lengths,
    floats,
    others,
  };
  return { wire: { packed }, transfer: [floats.buffer, lengths.buffer] };
}

function unpackPoints(wire: WirePoints): VectorPoint[] {
  if ('raw' in wire) return wire.raw as VectorPoint[];
  const { ids, payloads, lengths, floats, others } = wire.packed;
  let offset = 0;
  return ids.map((id, i) => {
    const length = lengths[i] as number;
    let vector = others[i];
    if (length >= 0) {
      vector = floats.subarray(offset, offset + length);
      offset += length;
    }
    return { id, vector, payload: payloads[i] } as VectorPoint;
  });
}

function toWireError(err: unknown): WireError {
  if (err instanceof VectorStoreError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

function fromWireError(wire: WireError): Error {
  if (wire.name === 'VectorStoreError') return new VectorStoreError(wire.message, wire.code);
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}

const errorMessage = (err: unknown): string =>
  err instanceof Error ? err.message : String((err as { message?: unknown })?.message ?? err);

/** A value the structured clone refuses (a function in a payload): the caller's mistake. */
function unsendable(err: unknown): Error {
  // A DOMException, which is an Error only in Node's own realm (not in jest's sandbox).
  if ((err as { name?: unknown } | undefined)?.name === 'DataCloneError') {
    return new VectorStoreError(`The request cannot be sent to the vector store: ${errorMessage(err)}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The embedded store on a worker thread of its own: the usearch inserts, removes, searches and
 * saves (the CPU-heavy work: a 256-point batch of 512-d vectors or a save of 100,000 points holds
 * the thread for tens of milliseconds) run there, so the caller's event loop keeps serving
 * requests. Same behaviour as `EmbeddedVectorStore`, which runs on the thread; vectors travel in
 * transferred buffers, the rebuild source stays in the caller's thread (the thread asks it for
 * versions and pulls points batch by batch), and errors come back as the same `VectorStoreError`s.
 *
 * `versionOf()` and `setVersion()` stay synchronous: this side keeps the versions the thread
 * reports (on open, reconcile, rebuild) and records its own `setVersion()` calls.
 *
 * A thread that dies (a crash in native code, out of memory) closes the store: calls in flight and
 * later ones fail with code `closed`, and it is logged. It is not restarted: what was not saved is
 * gone, and a store re-opened from disk and the source is the way back (restart the process).
 */
export class ThreadedEmbeddedVectorStore implements EmbeddedStore {
  readonly kind = 'embedded';
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (err: Error) => void }
  >();
  private nextId = 1;
  /** The collections on the thread and their versions, as far as this side knows. */
  private readonly versions = new Map<string, string | undefined>();
  /** This side's version changes and drops by key, with the request that carried them. */
  private readonly edits = new Map<string, { id: number; version?: string }>();
  private readonly iterators = new Map<number, AsyncIterator<VectorPoint[]>>();
  private nextIterator = 1;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set when the thread ended without `close()`: why calls now fail. */
  private died: string | undefined;
  private threadError: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly source: RebuildSource | undefined,
    private readonly log: VectorStoreLog,
  ) {}

  /** Starts the thread, which opens the store there (load, reconcile, periodic saves). */
  static async open(options: EmbeddedVectorStoreOptions): Promise<ThreadedEmbeddedVectorStore> {
    const data: ThreadData = {
      dir: options.dir,
      saveEveryMs: options.saveEveryMs,
      search: options.search,
      hasSource: options.source !== undefined,
    };
    const worker = new Worker(THREAD_SCRIPT, { workerData: data });
    const store = new ThreadedEmbeddedVectorStore(worker, options.source, options.log ?? (() => undefined));
    worker.on('message', (message: ToMain) => store.onMessage(message));
    worker.on('error', (err) => {
      store.threadError = err;
    });
    worker.on('exit', (code) => store.onExit(code));
    // The thread answers request 0 once the store is open.
    const opened = new Promise((resolve, reject) => store.pending.set(0, { resolve, reject }));
    try {
      await opened;
    } catch (err) {
      store.closed = true;
      await worker.terminate();
      throw err;
    }
    worker.unref();
    return store;
  }

  async reconcile(): Promise<RebuiltCollection[]> {
    return (await this.call({ op: 'reconcile' })) as RebuiltCollection[];
  }

  async rebuild(key: string, reason: string): Promise<RebuiltCollection | undefined> {
    return (await this.call({ op: 'rebuild', key, reason })) as RebuiltCollection | undefined;
  }

  versionOf(key: string): string | undefined {
    this.assertOpen();
    assertCollectionKey(key);
    return this.versions.get(key);
  }

  async sourceVersions(): Promise<Map<string, string | undefined>> {
    return (await this.call({ op: 'sourceVersions' })) as Map<string, string | undefined>;
  }

  setVersion(key: string, version: string): void {
    this.assertOpen();
    assertCollectionKey(key);
    if (!this.versions.has(key)) {
      throw new VectorStoreError(`Unknown vector collection ${key}`, 'unknown_collection');
    }
    if (typeof version !== 'string') throw new VectorStoreError('The version must be a string');
    this.versions.set(key, version);
    this.edits.set(key, { id: this.nextId, version });
    this.call({ op: 'setVersion', key, version }).catch((err: unknown) =>
      this.log(`Failed to record version ${version} of vector collection ${key}: ${errorMessage(err)}`),
    );
  }

  async ensureCollection(key: string, dimensions: number): Promise<void> {
    const id = this.nextId;
    const version = (await this.call({ op: 'ensureCollection', key, dimensions })) as string | undefined;
    // Unless this side changed or dropped it since.
    if (!this.versions.has(key) && (this.edits.get(key)?.id ?? 0) < id) this.versions.set(key, version);
  }

  upsert(key: string, points: VectorPoint[]): Promise<void> {
    let packed: ReturnType<typeof packPoints>;
    try {
      packed = packPoints(points);
    } catch (err) {
      return Promise.reject(unsendable(err));
    }
    return this.call({ op: 'upsert', key, points: packed.wire }, packed.transfer) as Promise<void>;
  }

  delete(key: string, ids: string[]): Promise<number> {
    return this.call({ op: 'delete', key, ids }) as Promise<number>;
  }

  search(key: string, query: SearchQuery): Promise<SearchHit[]> {
    const transfer: TransferListItem[] = [];
    let vector: unknown = query?.vector;
    if (isFloat32Array(vector)) {
      const copy = new Float32Array(vector);
      transfer.push(copy.buffer);
      vector = copy;
    }
    const wire: WireQuery = { vector, k: query?.k, filter: query?.filter };
    return this.call({ op: 'search', key, query: wire }, transfer) as Promise<SearchHit[]>;
  }

  info(key: string): Promise<CollectionInfo | undefined> {
    return this.call({ op: 'info', key }) as Promise<CollectionInfo | undefined>;
  }

  list(prefix?: string): Promise<CollectionInfo[]> {
    return this.call({ op: 'list', prefix }) as Promise<CollectionInfo[]>;
  }

  async dropCollection(key: string): Promise<void> {
    const id = this.nextId;
    const dropped = this.call({ op: 'dropCollection', key });
    if (typeof key === 'string' && !this.closed && this.died === undefined) {
      this.versions.delete(key);
      this.edits.set(key, { id });
    }
    await dropped;
  }

  /** Applied on the thread in order with the calls around it, like every request. */
  alias(alias: string, key: string): Promise<void> {
    return this.call({ op: 'alias', alias, key }) as Promise<void>;
  }

  dropAlias(alias: string): Promise<void> {
    return this.call({ op: 'dropAlias', alias }) as Promise<void>;
  }

  flush(): Promise<void> {
    return this.call({ op: 'flush' }) as Promise<void>;
  }

  /** Saves every changed collection on the thread, then ends it. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    // Closed, or the thread died: nothing left to save.
    if (this.closed || this.died !== undefined) {
      this.closed = true;
      return Promise.resolve();
    }
    const closing = this.send({ op: 'close' });
    this.closed = true;
    this.closing = closing.then(
      () => this.worker.terminate().then(() => undefined),
      async (err: unknown) => {
        await this.worker.terminate();
        throw err;
      },
    );
    return this.closing;
  }

  /** Why the store stopped serving without `close()` (its thread died), for readiness; undefined while it serves. */
  get failure(): string | undefined {
    return this.died;
  }

  /**
   * Ends the thread at once, as a crash would: nothing is saved, calls in flight fail and the
   * store is closed. For tests and benches.
   */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private assertOpen(): void {
    if (this.died !== undefined) throw new VectorStoreError(this.died, 'closed');
    if (this.closed) throw new VectorStoreError('The vector store is closed', 'closed');
  }

  private async call(request: Request, transfer: TransferListItem[] = []): Promise<unknown> {
    this.assertOpen();
    return this.send(request, transfer);
  }

  private send(request: Request, transfer: TransferListItem[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const message: ToThread = { ...request, kind: 'call', id };
      try {
        this.worker.postMessage(message, transfer);
      } catch (err) {
        reject(unsendable(err));
        return;
      }
      this.pending.set(id, { resolve, reject });
      // Like the in-process store, an idle store does not keep the process alive; a call does.
      if (this.pending.size === 1) this.worker.ref();
    });
  }

  private onMessage(message: ToMain): void {
    switch (message.kind) {
      case 'log':
        this.log(message.message);
        return;
      case 'source':
        void this.answerSource(message.id, message.method, message.arg);
        return;
      case 'reply': {
        if (message.state !== undefined) this.applyState(message.state, message.seen ?? 0);
        const waiting = this.pending.get(message.id);
        if (waiting === undefined) return;
        this.pending.delete(message.id);
        if (this.pending.size === 0) this.worker.unref();
        if (message.ok) waiting.resolve(message.value);
        else waiting.reject(fromWireError(message.error as WireError));
        return;
      }
    }
  }

  /** The thread's collections and versions, with this side's changes it had not seen yet. */
  private applyState(state: WireState, seen: number): void {
    this.versions.clear();
    for (const [key, version] of state) this.versions.set(key, version);
    for (const [key, edit] of this.edits) {
      if (edit.id <= seen) this.edits.delete(key);
      else if (edit.version === undefined) this.versions.delete(key);
      else this.versions.set(key, edit.version);
    }
  }

  private async answerSource(id: number, method: SourceMethod, arg: unknown): Promise<void> {
    let transfer: TransferListItem[] = [];
    let reply: ToThread;
    try {
      const source = this.source;
      if (source === undefined) throw new VectorStoreError('This store has no rebuild source');
      let value: unknown;
      switch (method) {
        case 'collections':
          value = await source.collections();
          break;
        case 'version':
          value = await source.version(arg as string);
          break;
        case 'pointsOpen': {
          const iterator = source.points(arg as string)[Symbol.asyncIterator]();
          value = this.nextIterator++;
          this.iterators.set(value as number, iterator);
          break;
        }
        case 'pointsNext': {
          const next = await this.iterators.get(arg as number)?.next();
          if (next === undefined || next.done === true) {
            value = null;
          } else {
            const packed = packPoints(next.value);
            value = packed.wire;
            transfer = packed.transfer;
          }
          break;
        }
        case 'pointsClose': {
          const iterator = this.iterators.get(arg as number);
          this.iterators.delete(arg as number);
          await iterator?.return?.();
          break;
        }
      }
      reply = { kind: 'source-reply', id, ok: true, value };
    } catch (err) {
      reply = { kind: 'source-reply', id, ok: false, error: toWireError(err) };
      transfer = [];
    }
    try {
      this.worker.postMessage(reply, transfer);
    } catch (err) {
      // The thread is gone (its exit fails the calls), or the source gave what cannot be sent.
      if (this.died === undefined && !this.closed) {
        this.worker.postMessage({ kind: 'source-reply', id, ok: false, error: toWireError(unsendable(err)) });
      }
    }
  }

  private onExit(code: number): void {
    if (!this.closed && this.died === undefined) {
      const why = this.threadError ? `: ${this.threadError.message}` : '';
      this.died = `The vector store's thread exited unexpectedly (code ${code})${why}; the store is closed`;
      this.log(this.died);
    }
    const error = new VectorStoreError(this.died ?? 'The vector store is closed', 'closed');
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
    for (const iterator of this.iterators.values()) void iterator.return?.();
    this.iterators.clear();
  }
}

/** The thread's side: opens the store and applies the requests in the order they arrive. */
export function runStoreThread(): void {
  const port = parentPort as MessagePort;
  const data = workerData as ThreadData;
  const post = (message: ToMain, transfer: TransferListItem[] = []): void =>
    port.postMessage(message, transfer);

  const asked = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>();
  let nextAsk = 1;
  const ask = (method: SourceMethod, arg?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextAsk++;
      asked.set(id, { resolve, reject });
      post({ kind: 'source', id, method, arg });
    });
  const source: RebuildSource | undefined = data.hasSource
    ? {
        collections: () => ask('collections') as ReturnType<RebuildSource['collections']>,
        version: (key) => ask('version', key) as Promise<string | undefined>,
        async *points(key) {
          const iterator = await ask('pointsOpen', key);
          try {
            for (;;) {
              const batch = (await ask('pointsNext', iterator)) as WirePoints | null;
              if (batch === null) return;
              yield unpackPoints(batch);
            }
          } finally {
            await ask('pointsClose', iterator);
          }
        },
      }
    : undefined;

  let store: EmbeddedVectorStore | undefined;
  /** The last request whose synchronous part has been applied. */
  let seen = 0;
  const state = (): WireState => [...(store as EmbeddedVectorStore).versions()];

  const dispatch = (s: EmbeddedVectorStore, request: Request): unknown => {
    switch (request.op) {
      case 'ensureCollection':
        return s.ensureCollection(request.key, request.dimensions).then(() => s.versionOf(request.key));
      case 'upsert':
        return s.upsert(request.key, unpackPoints(request.points));
      case 'delete':
        return s.delete(request.key, request.ids);
      case 'search':
        return s.search(request.key, request.query as SearchQuery);
      case 'info':
        return s.info(request.key);
      case 'list':
        return s.list(request.prefix);
      case 'dropCollection':
        return s.dropCollection(request.key);
      case 'alias':
        return s.alias(request.alias, request.key);
      case 'dropAlias':
        return s.dropAlias(request.alias);
      case 'flush':
        return s.flush();
      case 'close':
        return s.close();
      case 'reconcile':
        return s.reconcile();
      case 'rebuild':
        return s.rebuild(request.key, request.reason);
      case 'sourceVersions':
        return s.sourceVersions();
      case 'setVersion':
        return s.setVersion(request.key, request.version);
    }
  };

  const answer = (id: number, work: () => unknown, stateful: boolean): void => {
    const settle = (ok: boolean, outcome: unknown): void => {
      const reply: ToMain = ok
        ? { kind: 'reply', id, ok, value: outcome }
        : { kind: 'reply', id, ok, error: toWireError(outcome) };
      if (stateful && store !== undefined) Object.assign(reply, { state: state(), seen });
      post(reply);
    };
    let result: unknown;
    try {
      result = work();
    } catch (err) {
      settle(false, err);
      return;
    }
    Promise.resolve(result).then(
      (value) => settle(true, value),
      (err: unknown) => settle(false, err),
    );
  };

  port.on('message', (message: ToThread) => {
    if (message.kind === 'source-reply') {
      const waiting = asked.get(message.id);
      asked.delete(message.id);
      if (message.ok) waiting?.resolve(message.value);
      else waiting?.reject(fromWireError(message.error as WireError));
      return;
    }
    seen = message.id;
    const s = store as EmbeddedVectorStore;
    answer(message.id, () => dispatch(s, message), STATEFUL.has(message.op));
  });

  answer(
    0,
    async () => {
      store = await EmbeddedVectorStore.open({
        dir: data.dir,
        ...(data.saveEveryMs === undefined ? {} : { saveEveryMs: data.saveEveryMs }),
        ...(data.search === undefined ? {} : { search: data.search }),
        ...(source === undefined ? {} : { source }),
        log: (message) => post({ kind: 'log', message }),
      });
    },
    true,
  );
}
