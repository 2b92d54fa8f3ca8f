// A WebSocket (any HTTP/1.1 upgrade) through the gateway: the handshake goes
// to the service as an HTTP/1.1 request on a link stream; on its 101 the
// answer's head is passed to the browser (rewritten like any answer's) and
// the two connections are spliced as raw bytes; any other answer is passed
// on and the connection closed.
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GATEWAY_IDLE_TIMEOUT_MS, watchIdle } from './idle.ts';
import { errorBody, failureOf, requestOverLink, type OpenServiceStream, type ProxyOutcome } from './proxy-http.ts';
import { browserResponseHeaders, serviceRequestHeaders, type RewriteContext } from './rewrite.ts';

export interface ProxyUpgradeOptions {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  target: string;
  context: RewriteContext;
  open: OpenServiceStream;
  idleMs?: number;
  done: (outcome: ProxyOutcome) => void;
}

/** An HTTP/1.1 response head. */
export function responseHead(status: number, message: string | undefined, headers: http.OutgoingHttpHeaders): string {
  const lines = [`HTTP/1.1 ${status} ${message ?? http.STATUS_CODES[status] ?? ''}`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${String(one).replace(/[\r\n]/g, '')}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Proxies the upgrade; returns a function that ends it at once (access revoked). */
export function proxyUpgrade(options: ProxyUpgradeOptions): () => void {
  const { socket } = options;
  const outcome: ProxyOutcome = { status: 0, bytesIn: 0, bytesOut: 0 };
  const abort = new AbortController();
  let finished = false;
  let service: Duplex | undefined;
  const cut = (): void => {
    abort.abort();
    upstream.destroy();
    service?.destroy();
    socket.destroy();
  };
  const idle = watchIdle(options.idleMs ?? GATEWAY_IDLE_TIMEOUT_MS, cut);
  const finish = (): void => {
    if (finished) return;
    finished = true;
    idle.stop();
    options.done(outcome);
  };
  const upstream = requestOverLink({
    method: options.req.method, path: options.target, headers: serviceRequestHeaders(options.req.headers, options.context, true), open: options.open, signal: abort.signal,
  });
  upstream.on('error', (error) => {
    if (outcome.status === 0 && socket.writable) {
      const failure = failureOf(error);
      outcome.failure = failure.code;
      const body = errorBody(failure.code, failure.message);
      socket.end(responseHead(failure.status, undefined, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }) + body);
    } else socket.destroy();
    finish();
  });
  upstream.on('response', (answer) => {
    // The service declined the upgrade: its answer, then the connection closes.
    outcome.status = answer.statusCode ?? 502;
    const headers = { ...browserResponseHeaders(answer.headers, options.context), connection: 'close' };
    delete headers['content-length'];
    socket.write(responseHead(outcome.status, answer.statusMessage, headers));
    answer.on('data', (chunk: Buffer) => { outcome.bytesOut += chunk.length; });
    answer.pipe(socket);
  });
  upstream.on('upgrade', (answer, stream: Duplex, serviceHead: Buffer) => {
    service = stream;
    outcome.status = answer.statusCode ?? 101;
    const headers = { ...browserResponseHeaders(answer.headers, options.context), connection: 'Upgrade', upgrade: answer.headers.upgrade };
    socket.write(responseHead(outcome.status, answer.statusMessage, headers));
    if (serviceHead.length > 0) socket.write(serviceHead);
    if (options.head.length > 0) stream.write(options.head);
    outcome.bytesIn += options.head.length;
    outcome.bytesOut += serviceHead.length;
    stream.on('data', (chunk: Buffer) => { outcome.bytesOut += chunk.length; idle.touch(); });
    socket.on('data', (chunk: Buffer) => { outcome.bytesIn += chunk.length; idle.touch(); });
    stream.on('error', () => { socket.destroy(); });
    stream.pipe(socket);
    socket.pipe(stream);
    stream.on('close', () => { socket.destroy(); });
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    abort.abort();
    upstream.destroy();
    service?.destroy();
    finish();
  });
  upstream.end();
  return cut;
}
