// Pod logs for the hub (RESOURCE_PATHS.logs): one pod's log streamed as the
// API server sends it, or several pods chosen by a label selector merged line
// by line, each line prefixed with `[pod/container] `. Every request to the
// API server carries the hub's impersonation, so the cluster's RBAC decides
// whose logs a user may read.
import type http from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { impersonationProblem } from '../kube/headers.ts';
import { LOG_LIMITS, type KindInfo } from '../link/resources.ts';
import { UplinkError } from '../util/errors.ts';
import { readLimited } from '../util/read-limited.ts';
import { identityFromHeaders } from './access-review.ts';
import type { KubeClient } from './kube.ts';
import type { AgentMetrics } from './metrics.ts';
import type { ResourceAccess } from './resource-access.ts';
import { sendError } from './answers.ts';
import { queryParams } from './resources-handler.ts';
import { isDnsLabel, isDnsSubdomain } from '../domain/kube-names.ts';
import { CodedError, isErrorCode, type ErrorCode } from '../domain/error-codes.ts';

/** Time allowed for the API server to start answering a log request. */
export const LOG_CONNECT_TIMEOUT_MS = 15_000;
/** A line longer than this is passed on in pieces rather than buffered whole. */
export const MAX_LOG_LINE_BYTES = 64 * 1024;
/** Largest error body read from the API server. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/** Pods, whose list right choosing log streams by selector needs. */
const POD_KIND: KindInfo = { resource: 'pods', kind: 'Pod', group: '', version: 'v1', namespaced: true, shortNames: [] };


export interface LogTarget {
  pod: string;
  container: string | undefined;
}

export interface LogRequest {
  namespace: string;
  /** One pod by name, or pods by selector (exactly one of the two). */
  pod?: string;
  labelSelector?: string;
  container?: string;
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  previous: boolean;
  timestamps: boolean;
  maxPods: number;
}

export interface LogsOptions {
  kube: KubeClient;
  metrics: AgentMetrics;
  /** The cluster's RBAC for the hub user: choosing pods by selector reads the inventory, so it needs `list pods`. */
  access: Pick<ResourceAccess, 'require'>;
  /** Pods of a namespace that match a selector, from the inventory. */
  podsMatching: (namespace: string, labelSelector: string) => { name: string; containers: string[]; defaultContainer: string }[];
}

class LogRequestError extends CodedError {
  constructor(message: string, code: 'BAD_LOG_REQUEST' | 'NO_MATCHING_POD' | 'KUBE_UNREACHABLE' = 'BAD_LOG_REQUEST') {
    super(code, message);
  }
}

/** The catalogue's code for an API server's refusal of a log read; its message goes with it. */
function codeOfApiStatus(status: number): ErrorCode {
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  return status >= 400 && status < 500 ? 'BAD_LOG_REQUEST' : 'KUBE_UNREACHABLE';
}

function flag(params: Map<string, string>, key: string): boolean {
  const value = params.get(key);
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new LogRequestError(`${key} must be true or false, got '${value}'`);
}

function integer(params: Map<string, string>, key: string, min: number, max: number): number | undefined {
  const value = params.get(key);
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new LogRequestError(`${key} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

/** Validates the hub's query into a LogRequest; throws LogRequestError naming the bad parameter. */
export function parseLogRequest(params: Map<string, string>): LogRequest {
  const namespace = params.get('namespace') ?? 'default';
  if (!isDnsLabel(namespace)) throw new LogRequestError(`namespace '${namespace}' is not a valid namespace name`);
  const pod = params.get('pod') || undefined;
  const labelSelector = params.get('labelSelector') || undefined;
  if ((pod === undefined) === (labelSelector === undefined)) throw new LogRequestError('give exactly one of pod and labelSelector');
  if (pod !== undefined && !isDnsSubdomain(pod)) throw new LogRequestError(`pod '${pod}' is not a valid pod name`);
  const container = params.get('container') || undefined;
  if (container !== undefined && !isDnsLabel(container)) throw new LogRequestError(`container '${container}' is not a valid container name`);
  const request: LogRequest = {
    namespace, follow: flag(params, 'follow'), previous: flag(params, 'previous'), timestamps: flag(params, 'timestamps'),
    maxPods: integer(params, 'maxPods', 1, LOG_LIMITS.maxPods) ?? LOG_LIMITS.defaultMaxPods,
    ...(pod !== undefined ? { pod } : {}),
    ...(labelSelector !== undefined ? { labelSelector } : {}),
    ...(container !== undefined ? { container } : {}),
  };
  const tailLines = integer(params, 'tailLines', 0, 1_000_000);
  const sinceSeconds = integer(params, 'sinceSeconds', 1, 10 * 365 * 24 * 3600);
  if (tailLines !== undefined) request.tailLines = tailLines;
  if (sinceSeconds !== undefined) request.sinceSeconds = sinceSeconds;
  return request;
}

/** The API server path of one pod's log. */
export function logPath(request: LogRequest, target: LogTarget): string {
  const query = new URLSearchParams();
  if (target.container !== undefined) query.set('container', target.container);
  if (request.follow) query.set('follow', 'true');
  if (request.previous) query.set('previous', 'true');
  if (request.timestamps) query.set('timestamps', 'true');
  if (request.tailLines !== undefined) query.set('tailLines', String(request.tailLines));
  if (request.sinceSeconds !== undefined) query.set('sinceSeconds', String(request.sinceSeconds));
  const qs = query.toString();
  return `/api/v1/namespaces/${request.namespace}/pods/${encodeURIComponent(target.pod)}/log${qs ? `?${qs}` : ''}`;
}

/**
 * Splits a byte stream into whole lines, each handed on with a prefix. A
 * partial line waits for its end, up to MAX_LOG_LINE_BYTES.
 */
export class LinePrefixer {
  private pending = Buffer.alloc(0);
  private readonly prefix: Buffer;

  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix);
  }

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let newline = data.indexOf(0x0a);
    while (newline !== -1) {
      out.push(this.prefix, data.subarray(0, newline + 1));
      data = data.subarray(newline + 1);
      newline = data.indexOf(0x0a);
    }
    if (data.length > MAX_LOG_LINE_BYTES) {
      out.push(this.prefix, data, Buffer.from('\n'));
      data = Buffer.alloc(0);
    }
    this.pending = Buffer.from(data);
    return out;
  }

  /** The unterminated rest, as a last line. */
  flush(): Buffer[] {
    if (this.pending.length === 0) return [];
    const out = [this.prefix, this.pending, Buffer.from('\n')];
    this.pending = Buffer.alloc(0);
    return out;
  }
}

interface OpenedLog {
  status: number;
  body: http.IncomingMessage;
  abort: () => void;
}

async function openLog(logs: LogsOptions, path: string, identity: http.OutgoingHttpHeaders): Promise<OpenedLog> {
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(new Error(`no answer within ${LOG_CONNECT_TIMEOUT_MS} ms`)); }, LOG_CONNECT_TIMEOUT_MS);
  let res: http.IncomingMessage;
  try {
    res = await logs.kube.open(path, { headers: { accept: 'text/plain, application/json', ...identity }, signal: controller.signal });
  } catch (error) {
    throw new LogRequestError(`the API server did not answer the log request: ${(error as Error).message}`, 'KUBE_UNREACHABLE');
  } finally {
    clearTimeout(timer);
  }
  logs.metrics.logStreams.inc();
  res.once('close', () => { logs.metrics.logStreams.dec(); });
  return { status: res.statusCode ?? 0, body: res, abort: () => { controller.abort(); } };
}

async function apiMessage(opened: OpenedLog): Promise<string> {
  const text = await readLimited(opened.body, MAX_ERROR_BODY_BYTES).catch(() => '');
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text.trim() || `HTTP ${opened.status}`;
  }
}

/** Streams one pod's log through unchanged. */
async function streamOne(options: LogsOptions, request: LogRequest, identity: http.OutgoingHttpHeaders, res: Http2ServerResponse): Promise<void> {
  const opened = await openLog(options, logPath(request, { pod: request.pod ?? '', container: request.container }), identity);
  if (opened.status !== 200) {
    sendError(res, codeOfApiStatus(opened.status), await apiMessage(opened));
    return;
  }
  res.on('close', opened.abort);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  opened.body.on('error', () => { res.end(); });
  opened.body.pipe(res);
}

/** Chooses the pods (and their containers) a selector names, within the bound. */
function selectTargets(options: LogsOptions, request: LogRequest): LogTarget[] {
  let pods;
  try {
    pods = options.podsMatching(request.namespace, request.labelSelector ?? '');
  } catch (error) {
    throw new LogRequestError((error as Error).message);
  }
  if (pods.length === 0) throw new LogRequestError(`no pod in namespace '${request.namespace}' matches '${request.labelSelector ?? ''}'`, 'NO_MATCHING_POD');
  if (pods.length > request.maxPods) {
    throw new LogRequestError(`${pods.length} pods match '${request.labelSelector ?? ''}', more than the limit of ${request.maxPods} log streams (maxPods, at most ${LOG_LIMITS.maxPods})`);
  }
  return pods.map((pod) => ({ pod: pod.name, container: request.container ?? pod.defaultContainer }));
}

/** Streams several pods' logs merged line by line; ends when every stream has ended. */
async function streamMany(options: LogsOptions, request: LogRequest, identity: http.OutgoingHttpHeaders, res: Http2ServerResponse): Promise<void> {
  const targets = selectTargets(options, request);
  const opened: OpenedLog[] = [];
  res.on('close', () => { for (const log of opened) log.abort(); });
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  let open = targets.length;
  const finish = (): void => {
    open -= 1;
    if (open === 0) res.end();
  };
  const write = (pieces: Buffer[]): void => {
    for (const piece of pieces) {
      // Backpressure: a slow hub pauses every source until the stream drains.
      if (!res.write(piece)) {
        for (const log of opened) log.body.pause();
        res.stream.once('drain', () => { for (const log of opened) log.body.resume(); });
      }
    }
  };
  await Promise.all(targets.map(async (target) => {
    const prefix = `[${target.pod}/${target.container ?? ''}] `;
    let log: OpenedLog;
    try {
      log = await openLog(options, logPath(request, target), identity);
    } catch (error) {
      write([Buffer.from(`${prefix}error: ${(error as Error).message}\n`)]);
      finish();
      return;
    }
    if (res.stream.destroyed) {
      log.abort();
      return;
    }
    opened.push(log);
    if (log.status !== 200) {
      write([Buffer.from(`${prefix}error: ${await apiMessage(log)}\n`)]);
      finish();
      return;
    }
    const lines = new LinePrefixer(prefix);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      write(lines.flush());
      finish();
    };
    log.body.on('data', (chunk: Buffer) => { write(lines.push(chunk)); });
    log.body.on('end', end);
    log.body.on('error', end);
  }));
}

/** Serves RESOURCE_PATHS.logs. */
export function serveLogs(options: LogsOptions, req: Http2ServerRequest, res: Http2ServerResponse): void {
  const refusal = impersonationProblem(req.headers);
  if (refusal !== undefined) {
    sendError(res, 'FORBIDDEN', refusal);
    return;
  }
  const identity: http.OutgoingHttpHeaders = {
    'impersonate-user': req.headers['impersonate-user'],
    'impersonate-group': req.headers['impersonate-group'],
  };
  const run = async (): Promise<void> => {
    const request = parseLogRequest(queryParams(req));
    if (request.pod !== undefined) {
      await streamOne(options, request, identity, res);
      return;
    }
    const reviewed = identityFromHeaders(req.headers);
    if (typeof reviewed !== 'string') await options.access.require(reviewed, POD_KIND, ['list'], request.namespace);
    await streamMany(options, request, identity, res);
  };
  run().catch((error: unknown) => {
    sendError(res, error instanceof UplinkError && isErrorCode(error.code) ? error.code : 'INTERNAL', (error as Error).message);
  });
}
