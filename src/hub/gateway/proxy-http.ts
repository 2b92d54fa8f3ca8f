// One HTTP request through the gateway: an HTTP/1.1 request to the service
// written on a link stream the agent connected to one of the Service's
// endpoints (openGatewayStream as the request's connection), the browser's
// body streamed to it and the answer streamed back as it comes, so
// server-sent events and large downloads pass without being held. Headers
// are rewritten both ways (rewrite.ts).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CodedError, statusOf, type ErrorCode } from '../../domain/error-codes.ts';
import { GATEWAY_IDLE_TIMEOUT_MS, watchIdle } from './idle.ts';
import { browserResponseHeaders, serviceRequestHeaders, type RewriteContext } from './rewrite.ts';

/** Opens a raw byte stream to one of the exposure's endpoints (link-stream.ts's openGatewayStream, bound to a session and an exposure). */
export type OpenServiceStream = (signal: AbortSignal) => Promise<Duplex>;

/** What one proxied request carried, for its audit row; status 0 when no answer came. */
export interface ProxyOutcome {
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** Why no answer came from the service, when none did. */
  failure?: ErrorCode;
  /** The answer was a server-sent event stream. */
  eventStream?: boolean;
}

export interface ProxyRequestOptions {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path and query the service is asked for. */
  target: string;
  context: RewriteContext;
  open: OpenServiceStream;
  /** Kept-alive connections to use instead of a new link stream per request (link-agents.ts). */
  agent?: http.Agent | undefined;
  idleMs?: number;
  /** Called exactly once, when the exchange is over. */
  done: (outcome: ProxyOutcome) => void;
}

/** The code and status a failure to reach the service is answered with. */
export function failureOf(error: unknown): { code: ErrorCode; status: number; message: string } {
  if (error instanceof CodedError) return { code: error.code, status: error.status, message: error.message };
  return { code: 'LINK_CLOSED', status: statusOf('LINK_CLOSED'), message: 'the link to the cluster closed before the service answered' };
}

/** The body of a gateway error answer (the hub's usual shape). */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/**
 * An HTTP/1.1 request to the service whose connection is a link stream: a
 * kept-alive one of `agent` when given, else its own (opened with `open`).
 */
export function requestOverLink(options: {
  method: string | undefined; path: string; headers: http.OutgoingHttpHeaders; open: OpenServiceStream; signal: AbortSignal; agent?: http.Agent | undefined;
}): http.ClientRequest {
  if (options.agent !== undefined) return http.request({ method: options.method, path: options.path, headers: options.headers, setHost: false, agent: options.agent });
  return http.request({
    method: options.method, path: options.path, headers: options.headers, setHost: false,
    createConnection: (_opts, created) => {
      options.open(options.signal).then((stream) => { created(null, stream); }, (error: unknown) => { created(error instanceof Error ? error : new Error(String(error)), undefined as unknown as Duplex); });
      return undefined;
    },
  });
}

/** Proxies the request; returns a function that ends it at once (access revoked). */
export function proxyRequest(options: ProxyRequestOptions): () => void {
  const { req, res } = options;
  const outcome: ProxyOutcome = { status: 0, bytesIn: 0, bytesOut: 0 };
  const abort = new AbortController();
  let finished = false;
  const idle = watchIdle(options.idleMs ?? GATEWAY_IDLE_TIMEOUT_MS, () => { cut(); });
  const finish = (): void => {
    if (finished) return;
    finished = true;
    idle.stop();
    options.done(outcome);
  };
  const upstream = requestOverLink({
    method: req.method, path: options.target, headers: serviceRequestHeaders(req.headers, options.context), open: options.open, signal: abort.signal, agent: options.agent,
  });
  const cut = (): void => {
    abort.abort();
    upstream.destroy();
    res.destroy();
  };
  upstream.on('error', (error) => {
    if (outcome.status === 0 && !res.headersSent && !res.destroyed) {
      const failure = failureOf(error);
      outcome.failure = failure.code;
      res.writeHead(failure.status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(errorBody(failure.code, failure.message));
    } else res.destroy();
    finish();
  });
  upstream.on('response', (answer) => {
    outcome.status = answer.statusCode ?? 502;
    const headers = browserResponseHeaders(answer.headers, options.context);
    res.writeHead(outcome.status, answer.statusMessage, headers);
    if ((answer.headers['content-type'] ?? '').toLowerCase().startsWith('text/event-stream')) {
      // Events go out as they come: the head now, no Nagle on the browser's connection.
      outcome.eventStream = true;
      res.flushHeaders();
      (req.socket as Partial<Socket>).setNoDelay?.(true);
    }
    answer.on('data', (chunk: Buffer) => { outcome.bytesOut += chunk.length; idle.touch(); });
    answer.pipe(res);
    answer.on('error', () => { res.destroy(); });
    res.on('finish', finish);
  });
  req.on('data', (chunk: Buffer) => { outcome.bytesIn += chunk.length; idle.touch(); });
  req.pipe(upstream);
  // The browser left (or the answer was sent): the link stream goes too.
  res.on('close', () => {
    if (!res.writableFinished) {
      abort.abort();
      upstream.destroy();
    }
    finish();
  });
  return () => { cut(); };
}
