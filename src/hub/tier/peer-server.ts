// The peer port: where the other replicas of the hub relay requests for the
// clusters whose link this replica holds. Only a client showing a peer
// certificate of the hub's CA gets past the TLS handshake and the marker
// check (peer-certificates.ts); each request it sends is marked as relayed
// and handed to the hub's own routes, which authenticate the user again
// against the shared database. A relayed request is never relayed on: the
// hub answers it itself or says the cluster moved, so a stale ownership
// record cannot bounce a request between replicas. The relaying replica
// names the original client in RELAYED_FOR_HEADER; that header is believed
// on this port only and stripped from requests on the public one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../util/logger.ts';
import { MAX_REQUEST_HEAD_BYTES } from '../connection-guard.ts';
import { verifiedPeerId, type PeerCredentials } from './peer-certificates.ts';

/** The header a relaying replica names the original client's address in. */
export const RELAYED_FOR_HEADER = 'x-uplink-relayed-for';
/** Connections the peer port holds at once: each relayed stream (a watch, an exec) holds one. */
export const DEFAULT_PEER_MAX_CONNECTIONS = 20_000;
/** The TLS handshake and the request head each have this long. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * An idle kept-alive connection is closed by the server after this; longer
 * than the relay's own idle timeout (peer-agents.ts), so the relaying side
 * retires a connection before this side could close it under a new request.
 */
const KEEPALIVE_TIMEOUT_MS = 65_000;
/** Room for the relay's own header on top of the largest head the public port takes. */
const MAX_HEAD_BYTES = MAX_REQUEST_HEAD_BYTES + 1024;

/** Why a connection to the peer port was refused; a closed set for metric labels. */
export type PeerRefusal = 'tls' | 'not_peer' | 'max_connections';

export interface PeerServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  credentials: PeerCredentials;
  /** Handles a relayed plain request, as the public port's routes do; isRelayed(req) is true. */
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** Handles a relayed upgrade (exec, attach, port-forward); isRelayed(req) is true. */
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  log: Logger;
  maxConnections?: number;
  /** Counts refused connections (metrics). */
  onRefused?: (reason: PeerRefusal) => void;
}

export interface RunningPeerServer {
  /** The port bound. */
  port: number;
  /** Serves new connections with renewed credentials (peerCertificateDue); open ones keep theirs. */
  setCredentials(credentials: PeerCredentials): void;
  /**
   * Stops taking connections, lets requests in flight finish for up to
   * `graceMs`, then cuts what is left (watches and upgraded streams).
   */
  close(graceMs?: number): Promise<void>;
}

/** The replica each relayed request came from. */
const relayedRequests = new WeakMap<IncomingMessage, string>();

/** Whether a request came in on the peer port, from another replica. */
export function isRelayed(req: IncomingMessage): boolean {
  return relayedRequests.has(req);
}

/** The replica that relayed a request, or undefined for one from a client. */
export function relayedBy(req: IncomingMessage): string | undefined {
  return relayedRequests.get(req);
}

/**
 * The address of the client a request is for: on the peer port, the one the
 * relaying replica names (when it is an IP address); else the socket's.
 */
export function clientAddressOf(req: IncomingMessage): string | undefined {
  const named = req.headers[RELAYED_FOR_HEADER];
  if (isRelayed(req) && typeof named === 'string' && isIP(named) !== 0) return named;
  return req.socket.remoteAddress;
}

/** Removes RELAYED_FOR_HEADER from a request that did not come from a peer: clients may not name themselves. */
export function stripRelayHeaders(req: IncomingMessage): void {
  if (!isRelayed(req)) Reflect.deleteProperty(req.headers, RELAYED_FOR_HEADER);
}

function secureContextOf(credentials: PeerCredentials): https.ServerOptions {
  return { key: credentials.keyPem, cert: credentials.certPem, ca: credentials.caPem, minVersion: 'TLSv1.3' };
}

/** Starts the peer port; resolves once it listens. */
export async function startPeerServer(options: PeerServerOptions): Promise<RunningPeerServer> {
  const peers = new WeakMap<object, string>();
  const sockets = new Set<TLSSocket>();
  const refused = (reason: PeerRefusal): void => { options.onRefused?.(reason); };
  const server = https.createServer({
    ...secureContextOf(options.credentials),
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    // Watches, logs -f and uploads last as long as their clients want.
    requestTimeout: 0,
    keepAliveTimeout: KEEPALIVE_TIMEOUT_MS,
    maxHeaderSize: MAX_HEAD_BYTES,
  });
  server.maxConnections = options.maxConnections ?? DEFAULT_PEER_MAX_CONNECTIONS;
  server.on('drop', () => { refused('max_connections'); });
  server.on('tlsClientError', (_error, socket) => {
    refused('tls');
    socket.destroy();
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = verifiedPeerId(socket);
    if (peer === undefined) {
      // A leaf of the hub's CA that is not a peer's (the serving certificate, say): no request is read from it.
      refused('not_peer');
      socket.destroy();
      return;
    }
    peers.set(socket, peer);
    sockets.add(socket);
    socket.once('close', () => { sockets.delete(socket); });
  });
  const peerOf = (req: IncomingMessage): string | undefined => peers.get(req.socket);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const peer = peerOf(req);
    if (peer === undefined) {
      res.destroy();
      return;
    }
    relayedRequests.set(req, peer);
    options.onRequest(req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const peer = peerOf(req);
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    relayedRequests.set(req, peer);
    options.onUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => { options.log.error({ err: error }, 'the peer port failed'); });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : options.port,
    setCredentials: (credentials) => { server.setSecureContext(secureContextOf(credentials)); },
    close: (graceMs = 0) => closeServer(server, sockets, graceMs),
  };
}

async function closeServer(server: https.Server, sockets: Set<TLSSocket>, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  server.closeIdleConnections();
  // Upgraded sockets are no longer the HTTP server's to close: they are cut with the rest.
  const cut = (): void => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  };
  const timer = graceMs > 0 ? setTimeout(cut, graceMs) : undefined;
  if (timer === undefined) cut();
  await closed;
  clearTimeout(timer);
}
