// One request from this replica to a peer, with the connect deadline: a new
// connection must complete its TCP and TLS handshakes within
// connectTimeoutMs, after which nothing times the exchange (the peer's answer
// may wait on its agent, and a watch's body lasts as long as the watch). A
// failure before the answer becomes a refusal naming the replica.
import type { ClientRequest } from 'node:http';
import type { RelayRefusal } from './relay-answers.ts';
import { isEstablished, PeerConnectError, type PeerConnections, type PeerTarget } from './peer-connections.ts';

/** How long a new connection to a peer may take to be usable. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface UpstreamOptions {
  connections: PeerConnections;
  target: PeerTarget;
  method: string;
  path: string;
  headers: string[];
  connectTimeoutMs: number;
}

export interface Upstream {
  request: ClientRequest;
  /** Releases the request's hold on its peer's agent; call once it is over. */
  done: () => void;
}

/** Sends a request to the peer; a connection not up in time destroys the request with a PeerConnectError (PEER_CONNECT_TIMEOUT). */
export function openUpstream(options: UpstreamOptions): Upstream {
  const { target } = options;
  const upstream = options.connections.request(target, { method: options.method, path: options.path, headers: options.headers });
  const { request } = upstream;
  const timer = setTimeout(() => {
    request.destroy(new PeerConnectError('PEER_CONNECT_TIMEOUT', `no connection within ${options.connectTimeoutMs / 1000} s`));
  }, options.connectTimeoutMs);
  const clear = (): void => { clearTimeout(timer); };
  request.once('socket', (socket) => {
    // A kept-alive connection is up already; its idle timer is the agent's, not this request's.
    socket.setTimeout(0);
    if (isEstablished(socket)) clear();
    else socket.once('secureConnect', clear);
  });
  request.once('error', clear);
  request.once('close', clear);
  return upstream;
}

/** The refusal for a request to `target` that failed before the peer answered. */
export function upstreamRefusal(error: unknown, target: PeerTarget): RelayRefusal {
  const replica = `hub replica "${target.replicaId}"`;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof PeerConnectError && code === 'PEER_CONNECT_TIMEOUT') {
    return { code: 'PEER_TIMEOUT', message: `${replica}, which holds the cluster's link, did not take a connection in time (${error.message})` };
  }
  if (error instanceof PeerConnectError) {
    return { code: 'PEER_UNREACHABLE', message: `${replica}, which holds the cluster's link, was not reached: ${error.message}` };
  }
  const text = typeof code === 'string' ? code : 'unknown error';
  let reason: string;
  if (code === 'ECONNREFUSED') reason = 'it refused the connection (is it running?)';
  else if (code === 'ECONNRESET' || code === 'EPIPE') reason = 'it closed the connection before answering';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') reason = 'its address does not resolve';
  else if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO|ALERT/i.test(text)) reason = `it did not prove it is a replica of this hub (${text})`;
  else reason = `the connection failed (${text})`;
  return { code: 'PEER_UNREACHABLE', message: `${replica}, which holds the cluster's link, was not reached: ${reason}` };
}
