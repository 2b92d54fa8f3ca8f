// The hub's API as the dashboard uses it. The token lives in this object's
// memory only: never in a URL, storage or a cookie, so a reload signs out.
// Live feeds are read with fetch (not EventSource) because EventSource cannot
// send an Authorization header; eventsource-parser reads them.
import { createParser } from 'eventsource-parser';

/** Largest unfinished event a feed may make the page hold; the hub's events are far smaller. */
const MAX_SSE_EVENT_CHARS = 8 * 1024 * 1024;

/** A failed API call: the HTTP status (0 when the hub could not be reached) and the hub's error code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** What the user should read for an error: hub down, signed out, forbidden, offline, or the hub's message. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  if (error.status === 0) return 'The hub cannot be reached. It may be down or restarting; the page retries on its own.';
  if (error.status === 403) return `Forbidden: ${error.message}`;
  return error.message;
}

export interface SseHandlers {
  onEvent(name: string, data: unknown): void;
}

async function failure(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json() as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

export class Api {
  readonly #token: string;
  readonly #onUnauthorized: () => void;

  constructor(token: string, onUnauthorized: () => void) {
    this.#token = token;
    this.#onUnauthorized = onUnauthorized;
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(path, {
        ...init,
        cache: 'no-store',
        credentials: 'omit',
        headers: { ...init.headers as Record<string, string>, authorization: `Bearer ${this.#token}` },
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError(0, 'HUB_UNREACHABLE', 'the hub cannot be reached');
    }
    if (response.status === 401) this.#onUnauthorized();
    if (!response.ok) throw await failure(response);
    return response;
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return await (await this.#fetch(path, signal ? { signal } : {})).json() as T;
  }

  async post<T>(path: string, body: unknown = {}): Promise<T> {
    const response = await this.#fetch(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return await response.json() as T;
  }

  /** Deletes; resolves once the hub answered 2xx. */
  async delete(path: string): Promise<void> {
    await this.#fetch(path, { method: 'DELETE' });
  }

  /** Reads a server-sent event stream until it ends or `signal` aborts; resolves at the end. */
  async events(path: string, handlers: SseHandlers, signal: AbortSignal): Promise<void> {
    const response = await this.#fetch(path, { signal, headers: { accept: 'text/event-stream' } });
    let failure: ApiError | undefined;
    const parser = createParser({
      maxBufferSize: MAX_SSE_EVENT_CHARS,
      onEvent: (message) => {
        if (message.data !== '') handlers.onEvent(message.event ?? 'message', JSON.parse(message.data));
      },
      onError: (error) => {
        if (error.type === 'max-buffer-size-exceeded') failure = new ApiError(0, 'FEED_EVENT_TOO_LARGE', `a feed event is larger than ${MAX_SSE_EVENT_CHARS} characters`);
      },
    });
    await this.#read(response, signal, (text) => {
      if (failure === undefined) parser.feed(text);
      if (failure !== undefined) throw failure;
    });
  }

  /**
   * A WebSocket to the hub's kubectl endpoint (exec), offering `protocols`.
   * A browser's WebSocket cannot send an Authorization header, so the token
   * travels as the API server's bearer subprotocol, which the hub reads and
   * strips; it never goes in the URL.
   */
  kubeSocket(path: string, protocols: readonly string[]): WebSocket {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = btoa(this.#token).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    return new WebSocket(url, [...protocols, `base64url.bearer.authorization.k8s.io.${token}`]);
  }

  /**
   * Why the kubectl endpoint refuses `path`, asked again as a plain request
   * after a WebSocket failed: a browser hides a refused upgrade's answer, so
   * this reads the API server's (or the hub's) Status message. Undefined
   * when the plain request is not refused by authentication or authorization.
   */
  async kubeRefusal(path: string): Promise<string | undefined> {
    let response: Response;
    try {
      response = await fetch(path, { method: 'POST', cache: 'no-store', credentials: 'omit', headers: { authorization: `Bearer ${this.#token}` } });
    } catch {
      return 'The hub cannot be reached.';
    }
    if (response.status !== 401 && response.status !== 403 && response.status !== 404) return undefined;
    try {
      const status = await response.json() as { message?: unknown };
      if (typeof status.message === 'string') return `${response.status === 403 ? 'Forbidden' : response.statusText}: ${status.message}`;
    } catch {
      // Not a Status: keep the status line.
    }
    return `${response.status} ${response.statusText}`;
  }

  /** Reads a text stream (pod logs), passing each decoded chunk on. */
  async text(path: string, onText: (text: string) => void, signal: AbortSignal): Promise<void> {
    await this.#read(await this.#fetch(path, { signal }), signal, onText);
  }

  async #read(response: Response, signal: AbortSignal, onText: (text: string) => void): Promise<void> {
    if (response.body === null) return;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const cancel = (): void => { void reader.cancel().catch(() => undefined); };
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        onText(value);
      }
    } catch (error) {
      if (signal.aborted) return;
      throw new ApiError(0, 'HUB_UNREACHABLE', `the stream broke: ${(error as Error).message}`);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }
}

/** Encodes path segments and query parameters; undefined and empty values are left out. */
export function apiPath(segments: string[], query: Record<string, string | number | boolean | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
  const qs = params.toString();
  return `/api/v1/${segments.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}
