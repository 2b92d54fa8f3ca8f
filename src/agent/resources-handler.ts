// Serves the hub's resource queries (RESOURCE_PATHS) from the agent's
// inventory: unary JSON answers for kinds, lists, objects and events, and an
// NDJSON stream of changes for watches. Nothing here calls the API server;
// logs (which do) live in logs.ts.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { ndjsonLine } from '../link/ndjson.ts';
import {
  RESOURCE_PATHS, type InventoryFreshness, type KindStatus, type ResourceChange, type ResourceEventsResponse,
  type ResourceListResponse, type ResourceObjectResponse,
} from '../link/resources.ts';
import { UplinkError } from '../util/errors.ts';

/**
 * A watch whose reader (the hub) lets this much pile up in the stream's
 * buffer is ended with an ERROR line; the hub resubscribes and resyncs.
 */
export const MAX_WATCH_BUFFER_BYTES = 8 * 1024 * 1024;

/** Longest query parameter value accepted (selectors, names, continue tokens). */
const MAX_PARAM_LENGTH = 4096;

interface ObjectQuery {
  kind: string;
  namespace?: string;
  name: string;
}

interface ListQuery {
  kind: string;
  namespace?: string;
  labelSelector?: string;
  name?: string;
  limit?: number;
  continue?: string;
}

/** What the handler needs of the inventory (src/agent/inventory). */
export interface InventoryQueries {
  kinds(): KindStatus[];
  freshness(): InventoryFreshness;
  list(query: ListQuery): ResourceListResponse;
  get(query: ObjectQuery): ResourceObjectResponse | undefined;
  eventsFor(query: ObjectQuery): ResourceEventsResponse;
  watch(query: Omit<ListQuery, 'limit' | 'continue'>, onChange: (change: ResourceChange) => void): () => void;
}

export interface ResourcesHandlerOptions {
  inventory: InventoryQueries;
  /** Registers an open watch so a draining agent can end it; returns the unregister function. */
  trackStream: (end: () => void) => () => void;
}

/** A query the agent refuses: status and a message naming the problem. */
class QueryError extends UplinkError {
  readonly status: number;

  constructor(status: number, code: string, message: string) {
    super(code, message);
    this.status = status;
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  UNKNOWN_KIND: 404,
  BAD_SELECTOR: 400,
  BAD_CONTINUE: 400,
  BAD_LIMIT: 400,
  TOO_MANY_WATCHES: 429,
};

export function sendError(res: Http2ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
}

function sendJson(res: Http2ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads the query string into plain strings, refusing repeats and oversized values. */
export function queryParams(req: Http2ServerRequest): Map<string, string> {
  const params = new Map<string, string>();
  const search = new URLSearchParams(req.url.split('?')[1] ?? '');
  for (const [key, value] of search) {
    if (params.has(key)) throw new QueryError(400, 'BAD_QUERY', `query parameter '${key}' is given twice`);
    if (value.length > MAX_PARAM_LENGTH) throw new QueryError(400, 'BAD_QUERY', `query parameter '${key}' is longer than ${MAX_PARAM_LENGTH} characters`);
    params.set(key, value);
  }
  return params;
}

function required(params: Map<string, string>, key: string): string {
  const value = params.get(key);
  if (value === undefined || value === '') throw new QueryError(400, 'BAD_QUERY', `query parameter '${key}' is required`);
  return value;
}

/** Copies the optional string parameters that are present. */
function optional<K extends string>(params: Map<string, string>, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = params.get(key);
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function listQuery(params: Map<string, string>): ListQuery {
  const query: ListQuery = { kind: required(params, 'kind'), ...optional(params, ['namespace', 'labelSelector', 'name', 'continue'] as const) };
  const limit = params.get('limit');
  if (limit !== undefined) {
    if (!/^\d{1,7}$/.test(limit)) throw new QueryError(400, 'BAD_LIMIT', `limit must be a positive integer, got '${limit}'`);
    query.limit = Number(limit);
  }
  return query;
}

function objectQuery(params: Map<string, string>): ObjectQuery {
  return { kind: required(params, 'kind'), name: required(params, 'name'), ...optional(params, ['namespace'] as const) };
}

function serveWatch(options: ResourcesHandlerOptions, params: Map<string, string>, res: Http2ServerResponse): void {
  const query = { kind: required(params, 'kind'), ...optional(params, ['namespace', 'labelSelector', 'name'] as const) };
  let unsubscribe = (): void => undefined;
  let ended = false;
  const end = (message?: string): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    untrack();
    if (message !== undefined && !res.stream.destroyed) res.write(ndjsonLine({ type: 'ERROR', at: new Date().toISOString(), message }));
    res.end();
  };
  const untrack = options.trackStream(() => { end('the agent is stopping'); });
  res.on('close', () => { end(); });
  const onChange = (change: ResourceChange): void => {
    if (ended) return;
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    if (change.type === 'ERROR') {
      end(change.message);
      return;
    }
    if (res.stream.writableLength > MAX_WATCH_BUFFER_BYTES) {
      end(`the reader fell more than ${MAX_WATCH_BUFFER_BYTES} bytes behind; resubscribe to resync`);
      return;
    }
    res.write(ndjsonLine(change));
  };
  // watch() validates the query before it calls back, so a bad kind or
  // selector still gets a plain error status.
  unsubscribe = options.inventory.watch(query, onChange);
  // The first ADDED lines alone may have overflowed and ended the stream
  // before watch() returned the unsubscribe function.
  if (res.writableEnded) unsubscribe();
  // Answer at once even when nothing matches yet, so the hub is not left waiting.
  else if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson' });
}

/** Answers one request under RESOURCE_PATHS; returns false when the path is not one of them. */
export function handleResourceRequest(options: ResourcesHandlerOptions, req: Http2ServerRequest, res: Http2ServerResponse, path: string): boolean {
  const { inventory } = options;
  const routes: Record<string, (params: Map<string, string>) => void> = {
    [RESOURCE_PATHS.kinds]: () => { sendJson(res, { items: inventory.kinds(), inventory: inventory.freshness() }); },
    [RESOURCE_PATHS.list]: (params) => { sendJson(res, inventory.list(listQuery(params))); },
    [RESOURCE_PATHS.object]: (params) => {
      const query = objectQuery(params);
      const found = inventory.get(query);
      if (!found) throw new QueryError(404, 'NOT_FOUND', `${query.kind} '${query.name}'${query.namespace ? ` in namespace '${query.namespace}'` : ''} is not in the inventory`);
      sendJson(res, found);
    },
    [RESOURCE_PATHS.events]: (params) => { sendJson(res, inventory.eventsFor(objectQuery(params))); },
    [RESOURCE_PATHS.watch]: (params) => { serveWatch(options, params, res); },
  };
  const route = routes[path];
  if (!route) return false;
  if (req.method !== 'GET') {
    sendError(res, 405, 'METHOD_NOT_ALLOWED', `${path} answers GET only`);
    return true;
  }
  try {
    route(queryParams(req));
  } catch (error) {
    if (error instanceof QueryError) sendError(res, error.status, error.code, error.message);
    else if (error instanceof UplinkError && STATUS_BY_CODE[error.code] !== undefined) sendError(res, STATUS_BY_CODE[error.code] ?? 400, error.code, error.message);
    else throw error;
  }
  return true;
}
