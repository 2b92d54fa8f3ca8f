// The agent's access to its cluster's API server. kubeconfig.ts loads the
// configuration and credentials (in-cluster ServiceAccount with token
// re-reads, or a kubeconfig including exec plugins); requests are plain
// node:https so the agent controls timeouts, sizes and streaming. The
// credentials leave these modules only as TLS/auth options of requests to
// the API server itself.
import https from 'node:https';
import http from 'node:http';
import { UplinkError } from '../util/errors.ts';
import { readLimited } from '../util/read-limited.ts';
import { parseKubeApiPath } from '../kube/api-path.ts';
import { KUBE_MAX_HEAD_BYTES } from '../kube/limits.ts';
import { KubeConfigSource } from './kubeconfig.ts';

export const DEFAULT_KUBE_TIMEOUT_MS = 15_000;
/** Accept headers that make the API server answer an object, or a list, as metadata only (no spec, no Secret data). */
export const PARTIAL_OBJECT_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
export const PARTIAL_OBJECT_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
/** Largest JSON body read into memory from the API server. */
export const MAX_KUBE_BODY_BYTES = 64 * 1024 * 1024;
/** Items per page when listing. */
export const LIST_PAGE_SIZE = 500;
/**
 * Connections to the API server for short requests. Long-lived ones (watches,
 * follows) each hold a connection for their whole life, so they get their
 * own pool without a cap: the hub's per-cluster stream limit bounds them.
 */
const MAX_UNARY_SOCKETS = 64;
const MAX_IDLE_STREAMING_SOCKETS = 16;

/** A failed API request: status 0 means no answer (network, timeout). */
export class KubeApiError extends UplinkError {
  readonly status: number;

  constructor(status: number, message: string, options?: ErrorOptions) {
    super(status === 0 ? 'KUBE_UNREACHABLE' : 'KUBE_API_ERROR', message, options);
    this.status = status;
  }
}

export interface KubeClientOptions {
  /** A kubeconfig file; without it, in-cluster config when in a pod, else the default kubeconfig. */
  kubeconfig?: string;
  context?: string;
}

export interface KubeResponse<T> {
  status: number;
  body: T;
}

interface KubeList<T> {
  items: T[];
  metadata?: { continue?: string };
}

export class KubeClient {
  readonly server: URL;
  readonly inCluster: boolean;
  private readonly config: KubeConfigSource;
  private readonly agent: http.Agent;
  private readonly streamingAgent: http.Agent;

  constructor(options: KubeClientOptions = {}) {
    this.config = KubeConfigSource.load(options);
    this.inCluster = this.config.inCluster;
    this.server = this.config.server;
    const makeAgent = (options: http.AgentOptions): http.Agent =>
      (this.server.protocol === 'http:' ? new http.Agent(options) : new https.Agent(options));
    this.agent = makeAgent({ keepAlive: true, maxSockets: MAX_UNARY_SOCKETS });
    this.streamingAgent = makeAgent({ keepAlive: true, maxFreeSockets: MAX_IDLE_STREAMING_SOCKETS });
  }

  /**
   * Request options for the API server: TLS trust, client certificate or
   * bearer token, as the configuration says. Recomputed per request so
   * rotated ServiceAccount tokens and exec-plugin credentials stay fresh.
   * The target is always this client's server: its host and port come from
   * the configuration, and `path` (checked by parseKubeApiPath, which throws
   * KubeApiPathError otherwise) is appended to the server's own path prefix,
   * so no path can send the credentials elsewhere.
   */
  async requestOptions(method: string, path: string, headers: http.OutgoingHttpHeaders = {}, streaming = false): Promise<https.RequestOptions> {
    const checked = parseKubeApiPath(path);
    const { authorization, ...tls } = await this.config.tlsAndAuth();
    return {
      method,
      headers: authorization === undefined ? { ...headers } : { ...headers, authorization },
      ...tls,
      protocol: this.server.protocol,
      hostname: this.server.hostname.replace(/^\[|\]$/g, ''),
      port: this.server.port,
      path: `${this.server.pathname.replace(/\/+$/, '')}${checked.target}`,
      agent: streaming ? this.streamingAgent : this.agent,
      // Node reads 16 KiB of response headers by default; the API server (and
      // a service behind its proxy) may send more, which Go clients read.
      maxHeaderSize: KUBE_MAX_HEAD_BYTES,
    };
  }

  /** A request with a JSON (or no) body; resolves with any status, rejects only without an answer. */
  async request<T>(method: string, path: string, body?: unknown, timeoutMs = DEFAULT_KUBE_TIMEOUT_MS): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }
    const options = await this.requestOptions(method, path, headers);
    const transport = this.server.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request({ ...options, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        readLimited(res, MAX_KUBE_BODY_BYTES).then((text) => {
          resolve({ status: res.statusCode ?? 0, body: parseJson(text) as T });
        }, (error: unknown) => { reject(new KubeApiError(0, `${method} ${path}: ${(error as Error).message}`, { cause: error })); });
      });
      req.on('error', (error) => {
        reject(new KubeApiError(0, `${method} ${path}: cannot reach the API server at ${this.server.origin}: ${error.message}`, { cause: error }));
      });
      req.end(payload);
    });
  }

  /**
   * Opens a GET whose body the caller reads as it arrives (list pages,
   * watches, logs). Resolves with the response at any status once its headers
   * arrive; rejects with KubeApiError status 0 (prefixed with `describe`,
   * default `GET <path>`) when no answer comes, or with the signal's reason
   * once it aborts.
   */
  async open(path: string, options: { headers?: http.OutgoingHttpHeaders; signal?: AbortSignal; streaming?: boolean; describe?: string } = {}): Promise<http.IncomingMessage> {
    const { signal } = options;
    const requestOptions = await this.requestOptions('GET', path, options.headers, options.streaming ?? true);
    signal?.throwIfAborted();
    const transport = this.server.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request({ ...requestOptions, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', (error) => {
        if (signal?.aborted) reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        else reject(new KubeApiError(0, `${options.describe ?? `GET ${path}`}: ${error.message}`, { cause: error }));
      });
      req.end();
    });
  }

  /** GET returning the JSON body; a non-2xx answer throws KubeApiError with the API's message. */
  async getJson<T>(path: string, timeoutMs?: number): Promise<T> {
    const response = await this.request<T>('GET', path, undefined, timeoutMs);
    if (response.status < 200 || response.status > 299) throw apiError('GET', path, response);
    return response.body;
  }

  /** Every item of a list, following `continue` tokens page by page. */
  async listAll<T>(path: string, pageSize = LIST_PAGE_SIZE): Promise<T[]> {
    const items: T[] = [];
    let cont: string | undefined;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const page = await this.getJson<KubeList<T>>(`${path}${separator}limit=${pageSize}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
    } while (cont !== undefined);
    return items;
  }

  /** True when the path answers 2xx (for /livez, /readyz). */
  async probe(path: string, timeoutMs = 5_000): Promise<boolean> {
    try {
      const response = await this.request('GET', path, undefined, timeoutMs);
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }

  close(): void {
    this.agent.destroy();
    this.streamingAgent.destroy();
  }
}

/** A response body as JSON; a body that is not JSON becomes `{ message }` (its start), an empty one undefined. */
export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

export function apiError(method: string, path: string, response: KubeResponse<unknown>): KubeApiError {
  const message = (response.body as { message?: string } | undefined)?.message ?? 'no message';
  return new KubeApiError(response.status, `${method} ${path}: HTTP ${response.status}: ${message}`);
}
