// What the hub answers a connection whose request Node's HTTP parser refused
// or cut before any route saw it: a request line and headers over
// MAX_REQUEST_HEAD_BYTES (431), a request not received within
// --request-timeout (408; but see ForwardedBodies), bytes that are not
// HTTP/1.1 (400). Each answer is a Kubernetes Status, as the API server's
// refusals are, so kubectl prints its message. A 431 is recorded in the
// audit log as an unauthenticated refusal (the token was never read),
// through the audit sink's rate limit, and the connection is half-closed
// and drained for a moment before it is dropped, as Go's net/http does:
// closing a socket with request bytes still unread sends a reset that can
// overtake the answer.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { kubeStatus } from '../kube/headers.ts';
import { UNAUTHENTICATED_USER } from './audit-sink.ts';
import { MAX_REQUEST_HEAD_BYTES } from './connection-guard.ts';
import type { HubMetrics } from './metrics.ts';
import type { RequestHeads } from './request-heads.ts';
import type { AuditRecord } from './store/index.ts';

/** How long a refused connection is drained after the answer before it is dropped. */
export const REFUSAL_LINGER_MS = 1000;
/** The most of a refused request's first bytes read for its audit row. */
const REQUEST_LINE_SCAN_BYTES = 2048;

/** A parser error as Node hands it to 'clientError': the bytes being parsed when it failed in `rawPacket`. */
export type ClientError = Error & { code?: string; rawPacket?: unknown };

/**
 * Connections whose current request the hub has authenticated and is
 * forwarding to a cluster while its body still arrives. --request-timeout
 * does not cut these: Node applies it to a connection before anyone knows
 * who sent the request, but the API server takes a slow upload it has
 * accepted (a long-running request, `proxy`, has no deadline there at all),
 * and it answers one it will not wait for with its own Status. The kubectl
 * endpoint ends such a connection once its answer is sent if the body has
 * not come in whole by then, so no client keeps trickling bytes after it.
 */
export class ForwardedBodies {
  readonly #sockets = new WeakSet<Duplex>();

  add(socket: Duplex): void {
    this.#sockets.add(socket);
  }

  delete(socket: Duplex): void {
    this.#sockets.delete(socket);
  }

  has(socket: Duplex): boolean {
    return this.#sockets.has(socket);
  }

  /**
   * Exempts the request's body, while it arrives, from --request-timeout.
   * The returned function, called when the forward ends, ends the exemption
   * and closes the connection after the answer if the body is not in whole
   * yet, so no client keeps trickling bytes after it.
   */
  exempt(req: IncomingMessage, res: ServerResponse): () => void {
    if (req.complete) return () => undefined;
    const socket = req.socket;
    this.add(socket);
    req.once('end', () => { this.delete(socket); });
    return () => {
      this.delete(socket);
      if (req.complete) return;
      if (res.writableFinished) closeAfter(socket);
      else res.once('finish', () => { closeAfter(socket); });
    };
  }
}

export interface ClientErrorHandlerOptions {
  metrics: Pick<HubMetrics, 'connectionsTimedOut' | 'requestHeadsRefused'>;
  audit: (record: AuditRecord) => void;
  /** Requests --request-timeout leaves alone. */
  forwardedBodies?: ForwardedBodies;
  /** Where the start of a refused head is found (Node's error holds only the last bytes it parsed). */
  heads?: Pick<RequestHeads, 'startOf'>;
  /** The clock, for the audit row; tests fix it. */
  now?: () => Date;
}

/** The method and path of a refused request, when `start` (the first bytes received of it) holds its request line. */
export function readableRequestLine(start: Buffer | undefined): { method: string; path: string } | undefined {
  const head = start?.subarray(0, REQUEST_LINE_SCAN_BYTES).toString('latin1') ?? '';
  const match = /^([A-Z]{1,16}) (\/[\x21-\x7e]*)/.exec(head);
  if (!match?.[1] || match[2] === undefined) return undefined;
  return { method: match[1], path: match[2].split('?')[0] ?? '/' };
}

/** The audit row of a request refused for its head before it was read whole, from the first bytes of it received. */
export function refusedHeadRecord(start: Buffer | undefined, status: number, at: Date): AuditRecord {
  const line = readableRequestLine(start);
  return {
    at: at.toISOString(), userId: '', userName: UNAUTHENTICATED_USER, clusterId: '', clusterName: '',
    verb: line?.method.toLowerCase() ?? '', resource: '', subresource: null, namespace: null, name: null,
    path: line?.path ?? '(not readable)', status, bytesIn: 0, bytesOut: 0, durationMs: 0, command: null,
  };
}

/** A whole HTTP/1.1 answer with a Status body that closes the connection. */
export function statusAnswer(status: number, reason: string, message: string, headers: Record<string, string> = {}): string {
  const body = kubeStatus(status, reason, message);
  return [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`, 'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), 'Connection: close', '', body,
  ].join('\r\n');
}

/**
 * Ends a connection whose client may still be sending: `last` (if any) and a
 * half-close, what arrives meanwhile read and dropped, and the socket
 * destroyed REFUSAL_LINGER_MS later unless the client closed first.
 */
export function closeAfter(socket: Duplex, last?: string): void {
  socket.end(last);
  const timer = setTimeout(() => { socket.destroy(); }, REFUSAL_LINGER_MS);
  socket.once('close', () => { clearTimeout(timer); });
}

/** Whether an answer to the connection's current request has begun, so nothing more may be written. */
function answering(socket: Duplex): boolean {
  return (socket as Partial<Socket> & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
}

/**
 * The server's 'clientError' handler (fastify's `clientErrorHandler`).
 * Node keeps feeding a failed parser whatever the client still sends and
 * reports each chunk again; a socket is answered once.
 */
export function createClientErrorHandler(options: ClientErrorHandlerOptions): (error: ClientError, socket: Duplex) => void {
  const answered = new WeakSet<Duplex>();
  const now = options.now ?? ((): Date => new Date());
  return (error, socket) => {
    // Node stops timing the request once it reported it: the body flows on, to the cluster that accepted it.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && options.forwardedBodies?.has(socket) === true) return;
    if (answered.has(socket)) return;
    answered.add(socket);
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') options.metrics.connectionsTimedOut.inc({ phase: 'request' });
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      options.metrics.requestHeadsRefused.inc({ reason: 'too_large' });
      const start = options.heads?.startOf(socket) ?? (Buffer.isBuffer(error.rawPacket) ? error.rawPacket : undefined);
      options.audit(refusedHeadRecord(start, 431, now()));
    }
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (!socket.writable || answering(socket)) {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      closeAfter(socket, statusAnswer(431, 'RequestHeaderFieldsTooLarge',
        `the request line and headers are longer than ${MAX_REQUEST_HEAD_BYTES} bytes, the most the Kubernetes API server reads`));
      return;
    }
    // As Node's own handler: the answer, then the connection dropped.
    socket.write(error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? statusAnswer(408, 'Timeout', 'the request was not received in time')
      : statusAnswer(400, 'BadRequest', 'the request is not valid HTTP/1.1'));
    socket.destroy();
  };
}
