// An upgrade (exec, attach, port-forward over SPDY or WebSocket) relayed to
// the replica holding the cluster's link. The upgrade request goes to the
// peer as it came; on the peer's 101 its head is written to the client's
// socket as the peer sent it, and from then on both sockets are spliced as
// raw bytes (each turn of the event loop's chunks in one write), the
// protocol inside being none of the relay's business. Any other answer goes
// back as it is, so kubectl can fall back to another protocol, and the
// client's socket is closed after it.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { spliceRaw } from '../../util/splice-raw.ts';
import type { PeerConnections, PeerTarget } from './peer-connections.ts';
import { refuseUpgrade } from './relay-answers.ts';
import { rawResponseHead } from './relay-headers.ts';
import type { RelayOutcome } from './relay-request.ts';
import { openUpstream, upstreamRefusal } from './relay-upstream.ts';

export interface UpgradeRelayOptions {
  req: IncomingMessage;
  /** The client's socket, as the server's 'upgrade' event gave it. */
  socket: Duplex;
  /** Bytes the client sent after its request head. */
  head: Buffer;
  target: PeerTarget;
  headers: string[];
  connections: PeerConnections;
  connectTimeoutMs: number;
  onBytes: (direction: 'to_peer' | 'from_peer', bytes: number) => void;
  done: (outcome: RelayOutcome) => void;
}

/** Relays one upgrade request; never throws, and calls `done` exactly once, when both sockets are closed. */
export function relayUpgradeRequest(options: UpgradeRelayOptions): void {
  const { req, socket, target } = options;
  let outcome: RelayOutcome | undefined;
  let answered = false;
  const finish = (result: RelayOutcome): void => {
    if (outcome !== undefined) return;
    outcome = result;
    options.done(result);
  };
  socket.on('error', () => undefined);
  const upstream = openUpstream({
    connections: options.connections, target, method: req.method ?? 'GET', path: req.url ?? '/', headers: options.headers, connectTimeoutMs: options.connectTimeoutMs,
  });
  const { request } = upstream;
  socket.once('close', () => {
    if (!answered) request.destroy();
    // Once switched, the client ending the session is its normal end.
    finish(answered ? 'ok' : 'client_gone');
  });
  request.on('error', (error) => {
    upstream.done();
    if (answered) return;
    const refusal = upstreamRefusal(error, target);
    refuseUpgrade(socket, refusal);
    finish(refusal.code === 'PEER_TIMEOUT' ? 'timeout' : 'unreachable');
  });
  request.on('upgrade', (answer: IncomingMessage, peer: Duplex, peerHead: Buffer) => {
    answered = true;
    upstream.done();
    if (socket.destroyed) {
      peer.destroy();
      return;
    }
    splice({ ...options, answer, peer, peerHead, finish });
  });
  request.on('response', (answer: IncomingMessage) => {
    answered = true;
    answer.once('close', upstream.done);
    answer.on('error', () => undefined);
    socket.write(rawResponseHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders));
    answer.on('data', (chunk: Buffer) => { options.onBytes('from_peer', chunk.length); });
    answer.pipe(socket);
    answer.once('close', () => {
      if (!answer.complete) socket.destroy();
      finish(answer.complete ? 'ok' : 'peer_broke');
    });
  });
  // The request has no body: after the head, the client's bytes belong to the upgraded stream.
  request.end();
}

interface SpliceOptions extends UpgradeRelayOptions {
  answer: IncomingMessage;
  peer: Duplex;
  peerHead: Buffer;
  finish: (outcome: RelayOutcome) => void;
}

/** Writes the peer's 101 to the client and joins the two sockets; either closing closes the other. */
function splice(options: SpliceOptions): void {
  const { socket, peer, answer } = options;
  peer.on('error', () => undefined);
  // Idle exec sessions and port-forwards last as long as their users keep them.
  (peer as Partial<{ setTimeout(ms: number): void }>).setTimeout?.(0);
  socket.write(rawResponseHead(101, answer.statusMessage, answer.rawHeaders));
  if (options.peerHead.length > 0) {
    options.onBytes('from_peer', options.peerHead.length);
    socket.write(options.peerHead);
  }
  if (options.head.length > 0) {
    options.onBytes('to_peer', options.head.length);
    peer.write(options.head);
  }
  spliceRaw({ from: socket, to: peer, onChunk: (chunk) => { options.onBytes('to_peer', chunk.length); } });
  spliceRaw({ from: peer, to: socket, onChunk: (chunk) => { options.onBytes('from_peer', chunk.length); } });
  let peerEnded = false;
  peer.once('end', () => { peerEnded = true; });
  peer.once('close', () => {
    // A clean end was passed on by pipe(); a broken peer breaks the client's connection too.
    if (!peerEnded) socket.destroy();
    options.finish(peerEnded ? 'ok' : 'peer_broke');
  });
  socket.once('close', () => { peer.destroy(); });
}
