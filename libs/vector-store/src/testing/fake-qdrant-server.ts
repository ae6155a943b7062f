import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A stand-in for the parts of Qdrant's REST API the Qdrant adapter calls, with brute-force cosine
 * search, so the adapter and the real `@qdrant/js-client-rest` run end to end where no Qdrant server
 * can (no network, no Docker). It checks the plumbing (paths, bodies, responses, 404s), not Qdrant:
 * run the contract with QDRANT_URL against a real server for that.
 *
 * Collection aliases follow Qdrant's table of content (`lib/storage/.../toc/collection_meta_ops.rs`,
 * `alias_mapping.rs`): `POST /collections/aliases` applies its actions in order while no other
 * request runs (Qdrant holds the collections' write lock; here one synchronous handler), and an
 * action that fails answers the error with the actions before it left applied, as Qdrant does (it
 * has no rollback). `create_alias` needs an existing collection (404) and a name no collection
 * has (400), and replaces the alias if it exists; `delete_alias` of a missing alias does nothing;
 * `rename_alias` of a missing one is 404. Every `/collections/{name}/...` request except create
 * and delete resolves an alias first; deleting a collection removes its aliases; deleting by an
 * alias's name deletes nothing (`false`); a collection cannot be created under an alias's name.
 */
export interface FakeQdrantServer {
  readonly url: string;
  /** Requests served, as `METHOD /path`. */
  readonly requests: string[];
  /** The `params` of every query request, in order (`{}` when absent). */
  readonly queryParams: Record<string, unknown>[];
  stop(): Promise<void>;
}

interface StoredPoint {
  id: string | number;
  vector: number[];
  payload: Record<string, unknown>;
}

interface FakeCollection {
  size: number;
  points: Map<string, StoredPoint>;
  payloadSchema: Record<string, { data_type: string; points: number }>;
}

interface Condition {
  key?: string;
  match?: { value: unknown };
  range?: { gte?: number; lte?: number };
  is_null?: { key: string };
}

/** Aliases by name, naming collections (Qdrant's `AliasMapping`). */
type Aliases = Map<string, string>;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function normalize(vector: number[]): number[] {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return vector.map((x) => x / norm);
}

function matches(payload: Record<string, unknown>, filter: { must?: Condition[] } | undefined): boolean {
  return (filter?.must ?? []).every((condition) => {
    if (condition.is_null) return condition.is_null.key in payload && payload[condition.is_null.key] === null;
    const value = payload[condition.key ?? ''];
    if (condition.match) return value === condition.match.value;
    if (condition.range) {
      return (
        typeof value === 'number' &&
        value >= (condition.range.gte ?? -Infinity) &&
        value <= (condition.range.lte ?? Infinity)
      );
    }
    throw new HttpError(400, `Unsupported condition ${JSON.stringify(condition)}`);
  });
}

async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of request) text += String(chunk);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** Qdrant's search params as far as the adapter uses them; anything else is refused like Qdrant does. */
function checkParams(params: unknown): Record<string, unknown> {
  if (params === undefined) return {};
  if (typeof params !== 'object' || params === null) throw new HttpError(400, 'Format error: params');
  for (const [name, value] of Object.entries(params)) {
    const ok =
      name === 'exact'
        ? typeof value === 'boolean'
        : name === 'hnsw_ef' && Number.isInteger(value) && (value as number) > 0;
    if (!ok) throw new HttpError(400, `Format error in JSON body: params.${name}`);
  }
  return params as Record<string, unknown>;
}

const aliasList = (aliases: Aliases, only?: string) => ({
  aliases: [...aliases]
    .filter(([, collection]) => only === undefined || collection === only)
    .map(([alias_name, collection_name]) => ({ alias_name, collection_name })),
});

const nameOf = (value: unknown, field: string): string => {
  if (typeof value !== 'string') throw new HttpError(400, `Format error in JSON body: ${field}`);
  return value;
};

/** One action of `POST /collections/aliases`, applied at once (see the module comment). */
function applyAliasAction(collections: Map<string, FakeCollection>, aliases: Aliases, action: unknown): void {
  const { create_alias, delete_alias, rename_alias } = (action ?? {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  if (create_alias !== undefined) {
    const collection = nameOf(create_alias['collection_name'], 'create_alias.collection_name');
    const alias = nameOf(create_alias['alias_name'], 'create_alias.alias_name');
    if (!collections.has(collection)) {
      throw new HttpError(404, `Not found: Collection \`${collection}\` doesn't exist!`);
    }
    if (collections.has(alias))
      throw new HttpError(400, `Bad request: Collection \`${alias}\` already exists!`);
    aliases.set(alias, collection);
  } else if (delete_alias !== undefined) {
    aliases.delete(nameOf(delete_alias['alias_name'], 'delete_alias.alias_name'));
  } else if (rename_alias !== undefined) {
    const from = nameOf(rename_alias['old_alias_name'], 'rename_alias.old_alias_name');
    const to = nameOf(rename_alias['new_alias_name'], 'rename_alias.new_alias_name');
    const collection = aliases.get(from);
    if (collection === undefined) throw new HttpError(404, `Not found: Alias ${from} does not exists!`);
    aliases.delete(from);
    aliases.set(to, collection);
  } else {
    throw new HttpError(400, `Format error in JSON body: unknown alias operation ${JSON.stringify(action)}`);
  }
}

function handle(
  collections: Map<string, FakeCollection>,
  aliases: Aliases,
  method: string,
  path: string,
  body: Record<string, unknown>,
  queryParams: Record<string, unknown>[],
): unknown {
  if (method === 'GET' && path === '/collections') {
    return { collections: [...collections.keys()].map((name) => ({ name })) };
  }
  if (method === 'GET' && path === '/aliases') return aliasList(aliases);
  if (method === 'POST' && path === '/collections/aliases') {
    const actions = body['actions'];
    if (!Array.isArray(actions)) throw new HttpError(400, 'Format error in JSON body: actions');
    for (const action of actions) applyAliasAction(collections, aliases, action);
    return true;
  }
  const route = /^\/collections\/([^/]+)(\/.*)?$/.exec(path);
  if (!route) throw new HttpError(404, `No route ${method} ${path}`);
  const name = decodeURIComponent(route[1] as string);
  const rest = route[2] ?? '';
  if (method === 'PUT' && rest === '') {
    if (collections.has(name))
      throw new HttpError(409, `Wrong input: Collection \`${name}\` already exists!`);
    if (aliases.has(name)) {
      throw new HttpError(
        400,
        `Bad request: Can't create collection with name ${name}. Alias with the same name already exists`,
      );
    }
    const vectors = body['vectors'] as { size: number; distance: string };
    if (vectors.distance !== 'Cosine') throw new HttpError(400, 'Only Cosine is faked');
    collections.set(name, { size: vectors.size, points: new Map(), payloadSchema: {} });
    return true;
  }
  if (method === 'DELETE' && rest === '') {
    for (const [alias, collection] of aliases) if (collection === name) aliases.delete(alias);
    return collections.delete(name);
  }
  // Like Qdrant, this lists whatever aliases name `name`, without checking that it exists.
  if (method === 'GET' && rest === '/aliases') return aliasList(aliases, name);
  const collection = collections.get(aliases.get(name) ?? name);
  if (!collection) throw new HttpError(404, `Not found: Collection \`${name}\` doesn't exist!`);
  const key = (id: unknown): string => {
    if (typeof id === 'string' && UUID.test(id)) return id;
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0) return String(id);
    throw new HttpError(400, `Unable to parse point id ${JSON.stringify(id)}`);
  };
  switch (`${method} ${rest}`) {
    case 'GET ':
      return {
        status: 'green',
        optimizer_status: 'ok',
        segments_count: 1,
        points_count: collection.points.size,
        indexed_vectors_count: 0,
        config: {
          params: { vectors: { size: collection.size, distance: 'Cosine' }, shard_number: 1 },
          hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000 },
          optimizer_config: {},
          wal_config: {},
        },
        payload_schema: collection.payloadSchema,
      };
    case 'PUT /index':
      collection.payloadSchema[body['field_name'] as string] = {
        data_type: body['field_schema'] as string,
        points: collection.points.size,
      };
      return { operation_id: 0, status: 'completed' };
    case 'PUT /points':
      for (const point of body['points'] as StoredPoint[]) {
        if (point.vector.length !== collection.size) {
          throw new HttpError(
            400,
            `Wrong input: Vector dimension error: expected dim: ${collection.size}, got ${point.vector.length}`,
          );
        }
        collection.points.set(key(point.id), { ...point, vector: normalize(point.vector) });
      }
      return { operation_id: 0, status: 'completed' };
    case 'POST /points':
      return (body['ids'] as unknown[])
        .map((id) => collection.points.get(key(id)))
        .filter((point) => point !== undefined)
        .map((point) => ({
          id: point.id,
          payload: body['with_payload'] === false ? undefined : point.payload,
        }));
    case 'POST /points/delete':
      for (const id of body['points'] as unknown[]) collection.points.delete(key(id));
      return { operation_id: 0, status: 'completed' };
    case 'POST /points/count':
      return { count: collection.points.size };
    case 'POST /points/query': {
      const query = normalize(body['query'] as number[]);
      if (query.length !== collection.size) throw new HttpError(400, 'Wrong input: Vector dimension error');
      const filter = body['filter'] as { must?: Condition[] } | undefined;
      // Exact or not, the fake scores every point: it checks what the adapter asks for, not HNSW.
      queryParams.push(checkParams(body['params']));
      return {
        points: [...collection.points.values()]
          .filter((point) => matches(point.payload, filter))
          .map((point) => ({
            id: point.id,
            version: 0,
            score: point.vector.reduce((sum, x, i) => sum + x * (query[i] as number), 0),
            payload: body['with_payload'] === true ? point.payload : undefined,
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, (body['limit'] as number | undefined) ?? 10),
      };
    }
    default:
      throw new HttpError(404, `No route ${method} ${path}`);
  }
}

export async function startFakeQdrantServer(): Promise<FakeQdrantServer> {
  const collections = new Map<string, FakeCollection>();
  const aliases: Aliases = new Map();
  const requests: string[] = [];
  const queryParams: Record<string, unknown>[] = [];
  const respond = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    requests.push(`${method} ${url.pathname}`);
    readBody(request)
      .then((body) =>
        respond(response, 200, {
          result: handle(collections, aliases, method, url.pathname, body, queryParams),
          status: 'ok',
        }),
      )
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        respond(response, status, { status: { error: err instanceof Error ? err.message : String(err) } });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    queryParams,
    stop: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
