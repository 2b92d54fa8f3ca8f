// Connections from this replica to its peers: one keep-alive agent per peer
// (replica id and URL), mutual TLS with this replica's peer certificate, and
// the peer's certificate checked for the replica id the request is meant
// for. HTTP/1.1 holds one connection per request in flight, so a watch or an
// exec holds its own: the socket bound per peer is the stream bound, and only
// a few idle connections are kept for the next plain requests.
//
// Per request the relay sits on the path of every kubectl call, so the
// agents are built for it: the TLS material goes in as one secure context
// made when the agent is, not as PEM options (https.Agent names its socket
// pools by every TLS option, so PEMs would be joined into a key of some KB
// and hashed on each request), and Nagle is off (a request body or a chunked
// answer's last chunk must not wait for the peer's delayed ACK).
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext, type PeerCertificate, type TLSSocket } from 'node:tls';
import { UplinkError } from '../../util/errors.ts';
import { peerHostOf, peerIdOf, type PeerCredentials } from './peer-certificates.ts';

/** Where a cluster's link is: the replica holding it and the URL of its peer port. */
export interface PeerTarget {
  replicaId: string;
  peerUrl: string;
}

/** Idle connections kept per peer, for the next plain requests. */
const MAX_IDLE_PER_PEER = 64;
/** An idle connection is closed after this; shorter than the peer port's keep-alive (peer-server.ts). */
const IDLE_TIMEOUT_MS = 30_000;
/** TCP keep-alive probes start after this much silence, so a peer host that vanished is noticed on a quiet watch. */
const TCP_KEEPALIVE_MS = 15_000;
/** Agents kept for peers with nothing in flight; replicas come and go under new ids. */
const MAX_IDLE_AGENTS = 64;

/** A peer that could not be reached or did not prove it is the replica meant. */
export class PeerConnectError extends UplinkError {}

export interface PeerConnectionsOptions {
  credentials: PeerCredentials;
  /** Sockets per peer: the most requests relayed to one peer at once. */
  maxSocketsPerPeer: number;
}

interface PeerAgent {
  agent: https.Agent;
  /** The URL's host as http.request takes it (no IPv6 brackets), and its port. */
  hostname: string;
  port: number | string;
  /** The Host header of a request whose client sent none. */
  host: string;
  inFlight: number;
}

/** The agents to each peer, renewed with the credentials. */
export class PeerConnections {
  readonly #options: PeerConnectionsOptions;
  #credentials: PeerCredentials;
  readonly #agents = new Map<string, PeerAgent>();

  constructor(options: PeerConnectionsOptions) {
    this.#options = options;
    this.#credentials = options.credentials;
  }

  /**
   * Sends a request to a peer. The returned request emits the peer's answer
   * ('response', 'upgrade') or an 'error'; `done` must be called once it is
   * over, so the agent can be let go when its peer is gone.
   */
  request(target: PeerTarget, options: { method: string; path: string; headers: string[] }): { request: ClientRequest; done: () => void } {
    const peer = this.#agentFor(target);
    peer.inFlight += 1;
    const request = https.request({
      agent: peer.agent, protocol: 'https:', hostname: peer.hostname, port: peer.port,
      method: options.method, path: options.path, headers: options.headers, setHost: false,
    });
    request.setNoDelay(true);
    let released = false;
    return {
      request,
      done: () => {
        if (released) return;
        released = true;
        peer.inFlight -= 1;
      },
    };
  }

  /** The Host a request to `target` names when its client sent none (HTTP/1.0). */
  hostOf(target: PeerTarget): string {
    return this.#agentFor(target).host;
  }

  /** New connections use these credentials; open ones keep theirs until they close. */
  setCredentials(credentials: PeerCredentials): void {
    this.#credentials = credentials;
    for (const [key, peer] of this.#agents) {
      this.#agents.delete(key);
      destroyIdle(peer.agent);
    }
  }

  /** Closes idle connections and forgets every agent; requests in flight are the caller's to end. */
  close(): void {
    for (const peer of this.#agents.values()) destroyIdle(peer.agent);
    this.#agents.clear();
  }

  #agentFor(target: PeerTarget): PeerAgent {
    const key = `${target.replicaId} ${target.peerUrl}`;
    const known = this.#agents.get(key);
    if (known !== undefined) return known;
    this.#forgetIdleAgents();
    const url = new URL(target.peerUrl);
    const host = peerHostOf(target.peerUrl);
    const credentials = this.#credentials;
    const agent = new https.Agent({
      keepAlive: true, keepAliveMsecs: TCP_KEEPALIVE_MS, timeout: IDLE_TIMEOUT_MS,
      maxSockets: this.#options.maxSocketsPerPeer, maxFreeSockets: MAX_IDLE_PER_PEER,
      secureContext: createSecureContext({ ca: credentials.caPem, cert: credentials.certPem, key: credentials.keyPem, minVersion: 'TLSv1.3' }),
      // SNI takes a DNS name only; an IP-addressed peer is checked by its IP name.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      checkServerIdentity: (name, cert) => checkPeerIdentity(name, cert, target.replicaId),
    });
    const peer = { agent, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 443, host: url.host, inFlight: 0 };
    this.#agents.set(key, peer);
    return peer;
  }

  /** Bounds the map: agents of peers with nothing in flight go first (a replica replaced under a new id, say). */
  #forgetIdleAgents(): void {
    if (this.#agents.size < MAX_IDLE_AGENTS) return;
    for (const [key, peer] of this.#agents) {
      if (peer.inFlight > 0) continue;
      this.#agents.delete(key);
      destroyIdle(peer.agent);
    }
  }
}

/** The host name check every TLS client makes, and the peer mark of the replica meant. */
function checkPeerIdentity(name: string, cert: PeerCertificate, replicaId: string): Error | undefined {
  const mismatch = checkServerIdentity(name, cert);
  if (mismatch !== undefined) return mismatch;
  const found = peerIdOf(cert);
  if (found === replicaId) return undefined;
  return new PeerConnectError(
    'PEER_IDENTITY',
    found === undefined ? 'its certificate is not a hub replica\'s peer certificate' : `it is replica "${found}", not "${replicaId}"`,
  );
}

function destroyIdle(agent: https.Agent): void {
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

/** Whether a socket handed to a request has finished its TLS handshake already (a reused keep-alive connection). */
export function isEstablished(socket: unknown): boolean {
  return (socket as Partial<TLSSocket>).authorized === true;
}
