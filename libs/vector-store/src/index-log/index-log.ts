import type { Redis } from '@tributary/redis';

/** Scalar payload values, filterable in every vector store. */
export type IndexPayload = Record<string, string | number | boolean | null>;

/** A point as it goes into a vector store. */
export interface IndexPoint {
  id: string;
  vector: Float32Array;
  payload: IndexPayload;
}

/**
 * One entry of the index log: every point change of one collection at one version. `background`
 * marks a write nobody waits to search (see {@link IndexLogConsumer}); absent on live writes.
 */
export type IndexOp = (
  | {
      op: 'upsert';
      key: string;
      version: string;
      dimensions: number;
      points: IndexPoint[];
      acceptedAt: number[];
    }
  | { op: 'delete'; key: string; version: string; ids: string[] }
) & { background?: true };

const TEXT = '_text';
const STREAM = '_stream';
const META = '_meta';
const GROUP = '_group';
const MEMBERS = '_members';
const FILTER_PREFIX = 'm_';

/**
 * The payload a stored item becomes: its text, stream and whole metadata (as JSON), plus every
 * scalar metadata value under `m_<key>` so that search filters are plain exact matches. A derived
 * vector (a message's context, a document's) also carries its group and how many vectors it pools.
 */
export function itemPayload(item: {
  streamId: string;
  text: string;
  metadata: unknown;
  groupId?: string | undefined;
  members?: number | undefined;
}): IndexPayload {
  const payload: IndexPayload = { [TEXT]: item.text, [STREAM]: item.streamId, [META]: null };
  if (item.groupId !== undefined) payload[GROUP] = item.groupId;
  if (item.members !== undefined) payload[MEMBERS] = item.members;
  if (item.metadata && typeof item.metadata === 'object' && !Array.isArray(item.metadata)) {
    payload[META] = JSON.stringify(item.metadata);
    for (const [key, value] of Object.entries(item.metadata as Record<string, unknown>)) {
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
        payload[`${FILTER_PREFIX}${key}`] = value as string | number | boolean | null;
    }
  }
  return payload;
}

/** A search filter on metadata, as payload keys. */
export function metadataFilter(filter: Record<string, string | number | boolean | null>): IndexPayload {
  return Object.fromEntries(Object.entries(filter).map(([k, v]) => [`${FILTER_PREFIX}${k}`, v]));
}

/** Text and metadata back from a payload. */
export function fromPayload(payload: IndexPayload): {
  text: string;
  metadata: Record<string, unknown> | null;
} {
  const meta = payload[META];
  return {
    text: typeof payload[TEXT] === 'string' ? payload[TEXT] : '',
    metadata: typeof meta === 'string' ? (JSON.parse(meta) as Record<string, unknown>) : null,
  };
}

/** A derived vector's group and member count back from its payload (absent on items' points). */
export function groupFromPayload(payload: IndexPayload): { groupId?: string; members?: number } {
  const group = payload[GROUP];
  const members = payload[MEMBERS];
  return {
    ...(typeof group === 'string' ? { groupId: group } : {}),
    ...(typeof members === 'number' ? { members } : {}),
  };
}

/**
 * Appends one operation to the log (a Redis stream) and trims entries older than `retentionMs`
 * (XADD MINID ~: whole stream nodes, so up to one node of 100 entries or 4 KB lives a little longer).
 * The threshold is this process's clock minus the retention, compared with entry ids, which Redis
 * stamps with its own clock. An upsert's vectors travel as one binary field (float32, point after
 * point), the rest as JSON: base64 in the JSON cost the worker and the API a third more bytes to
 * write, store and parse.
 */
export async function appendIndexOp(
  redis: Redis,
  logKey: string,
  op: IndexOp,
  retentionMs: number,
): Promise<string> {
  if (!Number.isInteger(retentionMs) || retentionMs <= 0)
    throw new Error(`the index log retention must be a positive number of ms, not ${retentionMs}`);
  const fields: (string | Buffer)[] = ['op', op.op, 'k', op.key, 'v', op.version];
  if (op.background) fields.push('p', 'b');
  if (op.op === 'upsert') {
    const vectors = Buffer.allocUnsafe(op.points.length * op.dimensions * 4);
    op.points.forEach((p, i) => {
      if (p.vector.length !== op.dimensions)
        throw new Error(`point ${p.id} has ${p.vector.length} dimensions, not ${op.dimensions}`);
      Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength).copy(
        vectors,
        i * op.dimensions * 4,
      );
    });
    fields.push(
      'b',
      JSON.stringify({
        d: op.dimensions,
        a: op.acceptedAt,
        p: op.points.map((p) => ({ i: p.id, l: p.payload })),
      }),
      'x',
      vectors,
    );
  } else {
    fields.push('b', JSON.stringify({ ids: op.ids }));
  }
  const minId = String(Math.max(0, Date.now() - retentionMs));
  const id = await redis.xadd(logKey, 'MINID', '~', minId, '*', ...fields);
  if (!id) throw new Error('XADD returned no id');
  return id;
}

/**
 * The collection, version and priority of a log entry, read without decoding its body (so that an
 * entry whose body cannot be decoded is still known by what it was for); undefined when even the
 * collection and version are unreadable.
 */
export function indexOpHeader(
  fields: (string | Buffer)[],
): { key: string; version: bigint; background: boolean } | undefined {
  let key: string | undefined;
  let version: string | undefined;
  let background = false;
  for (let at = 0; at + 1 < fields.length; at += 2) {
    const name = fields[at]!.toString();
    if (name === 'k') key = fields[at + 1]!.toString();
    else if (name === 'v') version = fields[at + 1]!.toString();
    else if (name === 'p') background = fields[at + 1]!.toString() === 'b';
  }
  if (!key || !version || !/^[0-9]{1,19}$/.test(version)) return undefined;
  return { key, version: BigInt(version), background };
}

/**
 * Decodes a log entry's fields as `xreadBuffer` returns them (strings do for entries without vectors);
 * entries written before vectors had a binary field (base64 inside the JSON) decode too.
 */
export function decodeIndexOp(fields: (string | Buffer)[]): IndexOp {
  const raw = (name: string): string | Buffer | undefined => {
    for (let at = 0; at + 1 < fields.length; at += 2)
      if (fields[at]!.toString() === name) return fields[at + 1];
    return undefined;
  };
  const get = (name: string) => raw(name)?.toString() ?? '';
  const body = JSON.parse(get('b')) as
    { d: number; a: number[]; p: { i: string; l: IndexPayload; v?: string }[] } | { ids: string[] };
  const background = get('p') === 'b' ? { background: true as const } : {};
  if (get('op') === 'delete')
    return {
      op: 'delete',
      key: get('k'),
      version: get('v'),
      ids: (body as { ids: string[] }).ids,
      ...background,
    };
  const up = body as { d: number; a: number[]; p: { i: string; l: IndexPayload; v?: string }[] };
  const binary = raw('x');
  // One aligned copy of all vectors; each point views its part.
  if (typeof binary === 'string') throw new Error('read the index log with buffers (XREAD of binary fields)');
  const all = binary === undefined ? undefined : new Float32Array(new Uint8Array(binary).buffer);
  if (all && all.length !== up.p.length * up.d)
    throw new Error(`index log entry holds ${all.length} floats for ${up.p.length} points of ${up.d}`);
  return {
    op: 'upsert',
    key: get('k'),
    version: get('v'),
    dimensions: up.d,
    acceptedAt: up.a,
    ...background,
    points: up.p.map((p, k) => ({
      id: p.i,
      payload: p.l,
      vector: all
        ? all.subarray(k * up.d, (k + 1) * up.d)
        : new Float32Array(new Uint8Array(Buffer.from(p.v ?? '', 'base64')).buffer),
    })),
  };
}
