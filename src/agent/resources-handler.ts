// Serves the hub's resource queries (RESOURCE_PATHS) from the agent's
// inventory: unary JSON answers for kinds, lists, objects and events, and an
// NDJSON stream of changes for watches. The answers come from the cache, but
// who may read them is the cluster's RBAC for the hub user's impersonated
// identity (resource-access.ts); logs, which call the API server as that
// identity, live in logs.ts.
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { ndjsonLine } from '../link/ndjson.ts';
import {
  RESOURCE_PATHS, type InventoryFreshness, type KindInfo, type KindStatus, type ResourceChange, type ResourceEventsResponse,
  type ResourceListResponse, type ResourceObjectResponse,
} from '../link/resources.ts';
import { UplinkError } from '../util/errors.ts';
import { identityFromHeaders, type AccessIdentity } from './access-review.ts';
import type { ResourceAccess } from './resource-access.ts';
import { CodedError, isErrorCode } from '../domain/error-codes.ts';
import { sendError } from './answers.ts';

/**
 * A watch whose reader (the hub) lets this much pile up in the stream's
 * buffer is ended with an ERROR line; the hub resubscribes and resyncs.
 */
export const MAX_WATCH_BUFFER_BYTES = 8 * 1024 * 1024;

/** Longest query parameter value accepted (selectors, names, continue tokens). */
const MAX_PARAM_LENGTH = 4096;
/** The namespace of a namespaced object asked for without one, as kubectl assumes. */
const DEFAULT_NAMESPACE = 'default';
/** Events, whose list right an object's events need. */
const EVENTS_KIND: KindInfo = { resource: 'events', kind: 'Event', group: '', version: 'v1', namespaced: true, shortNames: [] };

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
  /** Only rows of these namespaces: the ones the reader may list. */
  namespaces?: ReadonlySet<string>;
}

/** What the handler needs of the inventory (src/agent/inventory). */
export interface InventoryQueries {
  /** The kind a name (plural, singular, Kind, short name) stands for; undefined when not cached. */
  resolveKind(name: string): KindInfo | undefined;
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
  /** The cluster's RBAC for the identity the hub impersonates. */
  access: ResourceAccess;
}

/** A query the agent refuses: a code from the catalogue and a message naming the problem. */
class QueryError extends CodedError {}



function sendJson(res: Http2ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Reads the query string into plain strings, refusing repeats and oversized values. */
export function queryParams(req: Http2ServerRequest): Map<string, string> {
  const params = new Map<string, string>();
  const search = new URLSearchParams(req.url.split('?')[1] ?? '');
  for (const [key, value] of search) {
    if (params.has(key)) throw new QueryError('BAD_QUERY', `query parameter '${key}' is given twice`);
    if (value.length > MAX_PARAM_LENGTH) throw new QueryError('BAD_QUERY', `query parameter '${key}' is longer than ${MAX_PARAM_LENGTH} characters`);
    params.set(key, value);
  }
  return params;
}

function required(params: Map<string, string>, key: string): string {
  const value = params.get(key);
  if (value === undefined || value === '') throw new QueryError('BAD_QUERY', `query parameter '${key}' is required`);
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
    if (!/^\d{1,7}$/.test(limit)) throw new QueryError('BAD_LIMIT', `limit must be a positive integer, got '${limit}'`);
    query.limit = Number(limit);
  }
  return query;
}

function objectQuery(params: Map<string, string>): ObjectQuery {
  return { kind: required(params, 'kind'), name: required(params, 'name'), ...optional(params, ['namespace'] as const) };
}

/** The kind asked for; 404 when the inventory does not cache it. */
function kindOf(inventory: InventoryQueries, name: string): KindInfo {
  const info = inventory.resolveKind(name);
  if (!info) throw new QueryError('UNKNOWN_KIND', `unknown kind ${JSON.stringify(name)}: not one the inventory caches`);
  return info;
}

/** The namespace an object query means: `default` for a namespaced kind named without one, '' for a cluster-scoped one. */
function objectNamespace(kind: KindInfo, namespace: string | undefined): string {
  return kind.namespaced ? (namespace ?? DEFAULT_NAMESPACE) : '';
}

async function serveList(options: ResourcesHandlerOptions, identity: AccessIdentity, params: Map<string, string>, res: Http2ServerResponse): Promise<void> {
  const query = listQuery(params);
  const scope = await options.access.scope(identity, kindOf(options.inventory, query.kind), ['list'], query.namespace);
  sendJson(res, options.inventory.list({ ...query, ...scope }));
}

async function serveObject(options: ResourcesHandlerOptions, identity: AccessIdentity, params: Map<string, string>, res: Http2ServerResponse): Promise<void> {
  const query = objectQuery(params);
  const kind = kindOf(options.inventory, query.kind);
  await options.access.require(identity, kind, ['get'], objectNamespace(kind, query.namespace));
  const found = options.inventory.get(query);
  if (!found) throw new QueryError('NOT_FOUND', `${query.kind} '${query.name}'${query.namespace ? ` in namespace '${query.namespace}'` : ''} is not in the inventory`);
  sendJson(res, found);
}

async function serveEvents(options: ResourcesHandlerOptions, identity: AccessIdentity, params: Map<string, string>, res: Http2ServerResponse): Promise<void> {
  const query = objectQuery(params);
  const kind = kindOf(options.inventory, query.kind);
  const namespace = objectNamespace(kind, query.namespace);
  await options.access.require(identity, kind, ['get'], namespace);
  // Events about a cluster-scoped object may live in any namespace.
  await options.access.require(identity, EVENTS_KIND, ['list'], namespace);
  sendJson(res, options.inventory.eventsFor(query));
}

async function serveWatch(options: ResourcesHandlerOptions, identity: AccessIdentity, params: Map<string, string>, res: Http2ServerResponse): Promise<void> {
  const asked = { kind: required(params, 'kind'), ...optional(params, ['namespace', 'labelSelector', 'name'] as const) };
  const scope = await options.access.scope(identity, kindOf(options.inventory, asked.kind), ['list', 'watch'], asked.namespace);
  // The hub may have gone while the cluster was asked.
  if (res.stream.destroyed) return;
  const query = { ...asked, ...scope };
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
function sendFailure(res: Http2ServerResponse, error: unknown): void {
  if (error instanceof UplinkError && isErrorCode(error.code)) sendError(res, error.code, error.message);
  else sendError(res, 'INTERNAL', `the agent failed to answer: ${(error as Error).message}`);
}

type Route = (identity: AccessIdentity, params: Map<string, string>) => void | Promise<void>;

/**
 * Answers one request under RESOURCE_PATHS; returns false when the path is
 * not one of them. Every request must carry the hub's impersonation (403
 * without it): the identity whose rights in the cluster decide the answer.
 */
export function handleResourceRequest(options: ResourcesHandlerOptions, req: Http2ServerRequest, res: Http2ServerResponse, path: string): boolean {
  const { inventory } = options;
  const routes: Record<string, Route> = {
    // Which kinds exist is discovery, open to every authenticated user of the API server.
    [RESOURCE_PATHS.kinds]: () => { sendJson(res, { items: inventory.kinds(), inventory: inventory.freshness() }); },
    [RESOURCE_PATHS.list]: (identity, params) => serveList(options, identity, params, res),
    [RESOURCE_PATHS.object]: (identity, params) => serveObject(options, identity, params, res),
    [RESOURCE_PATHS.events]: (identity, params) => serveEvents(options, identity, params, res),
    [RESOURCE_PATHS.watch]: (identity, params) => serveWatch(options, identity, params, res),
  };
  const route = routes[path];
  if (!route) return false;
  if (req.method !== 'GET') {
    sendError(res, 'METHOD_NOT_ALLOWED', `${path} answers GET only`);
    return true;
  }
  const identity = identityFromHeaders(req.headers);
  if (typeof identity === 'string') {
    sendError(res, 'FORBIDDEN', identity);
    return true;
  }
  void (async () => { await route(identity, queryParams(req)); })().catch((error: unknown) => {
    // The hub may have gone while the cluster was asked: nothing is left to answer.
    if (res.stream.destroyed) return;
    sendFailure(res, error);
  });
  return true;
}
