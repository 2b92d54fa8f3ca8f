// A small client for the hub's JSON API, trusting the CA from the login.
import http from 'node:http';
import https from 'node:https';
import { UplinkError } from '../util/errors.ts';
import { readLimited } from '../util/read-limited.ts';
import type { CliConfig } from './cli-config.ts';

export const API_TIMEOUT_MS = 30_000;
/** How long a streaming request waits for the hub's answer to begin. */
export const STREAM_CONNECT_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** Pages listAll follows at most: a million clusters at 1,000 a page, and no endless loop from a faulty answer. */
const MAX_LIST_PAGES = 1000;

/** The hub answered with an error, or could not be reached (status 0). */
export class HubApiError extends UplinkError {
  readonly status: number;

  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.status = status;
  }
}

export class HubClient {
  private readonly config: CliConfig;

  constructor(config: CliConfig) {
    this.config = config;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const { url, transport, options } = this.prepare(method, path, {
      accept: 'application/json', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
    });
    options.signal = AbortSignal.timeout(API_TIMEOUT_MS);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = transport.request(url, options, (res) => {
        readLimited(res, MAX_RESPONSE_BYTES).then((text) => { resolve({ status: res.statusCode ?? 0, text }); }, reject);
      });
      req.on('error', reject);
      req.end(payload);
    }).catch((error: unknown) => {
      throw this.unreachable(error);
    });
    const parsed = text === '' ? undefined : safeJson(text);
    if (status < 200 || status > 299) throw answerError(status, parsed, text);
    return parsed as T;
  }

  /**
   * Every item of a paged list (`{ items, metadata: { continue } }`, as
   * GET /api/v1/clusters answers), asking for `limit` items a page and
   * following `metadata.continue` to the last page. A hub without pages
   * answers everything at once, without a continue token.
   */
  async listAll<T>(path: string, limit: number): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let next: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const answer = await this.request<{ items: T[]; metadata?: { continue?: string } }>('GET', withQuery(path, { limit, continue: next }));
      items.push(...answer.items);
      next = answer.metadata?.continue;
      if (next === undefined || next === '') return items;
      if (seen.has(next)) throw new HubApiError(0, 'HUB_ERROR', `the hub sent the same continue token twice while listing ${path}`);
      seen.add(next);
    }
    throw new HubApiError(0, 'HUB_ERROR', `the list at ${path} went on for more than ${MAX_LIST_PAGES} pages`);
  }

  /**
   * A GET whose answer streams (a live feed, a log): resolves with the
   * response once the hub answers 2xx, or throws HubApiError as request()
   * does. Only the wait for the answer is timed (STREAM_CONNECT_TIMEOUT_MS);
   * the body may then flow for as long as the hub sends it.
   */
  async openStream(path: string, accept: string): Promise<http.IncomingMessage> {
    const { url, transport, options } = this.prepare('GET', path, { accept });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, options, resolve);
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${STREAM_CONNECT_TIMEOUT_MS / 1000} s`));
      }, STREAM_CONNECT_TIMEOUT_MS);
      req.once('response', () => { clearTimeout(timer); });
      // After the answer, failures surface on the response ('error', 'aborted').
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.end();
    }).catch((error: unknown) => {
      throw this.unreachable(error);
    });
    const status = res.statusCode ?? 0;
    if (status >= 200 && status <= 299) return res;
    const text = await readLimited(res, MAX_RESPONSE_BYTES).catch(() => '');
    throw answerError(status, text === '' ? undefined : safeJson(text), text);
  }

  private prepare(method: string, path: string, headers: http.OutgoingHttpHeaders): { url: URL; transport: typeof https | typeof http; options: https.RequestOptions } {
    // The hub may live under a path prefix behind a proxy; keep it.
    const url = new URL(`${this.config.hubUrl.replace(/\/+$/, '')}${path}`);
    const transport = url.protocol === 'http:' ? http : https;
    const options: https.RequestOptions = {
      method,
      headers: { authorization: `Bearer ${this.config.token}`, ...headers },
      rejectUnauthorized: this.config.insecureSkipTlsVerify !== true,
      ...(this.config.caPem ? { ca: this.config.caPem } : {}),
    };
    return { url, transport, options };
  }

  private unreachable(error: unknown): HubApiError {
    return new HubApiError(0, 'HUB_UNREACHABLE', `cannot reach the hub at ${this.config.hubUrl}: ${(error as Error).message}`, { cause: error });
  }
}

/** `path?query` with the parameters that are set, for the hub's GET routes. */
export function withQuery(path: string, params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** The hub's error answer as a HubApiError carrying its status, code and message. */
function answerError(status: number, parsed: unknown, text: string): HubApiError {
  const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
  return new HubApiError(status, error?.code ?? 'HUB_ERROR', `the hub answered ${status}: ${error?.message ?? text.slice(0, 200)}`);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { message: text.slice(0, 200) } };
  }
}
