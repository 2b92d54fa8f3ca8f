// The link without WebSocket framing: after an HTTP/1.1 Upgrade to
// LINK_H2_UPGRADE, HTTP/2 runs directly on the TLS socket. node:http2 then
// reads and writes the socket natively instead of through a JavaScript
// stream, and no WebSocket frames are parsed or copied: one stream through
// the link moves about twice the bytes per CPU second (bench/link.ts).
//
// H2LinkSocket gives the sessions the part of the `ws` API they use, so the
// rest of the link does not care which transport it runs on:
// - close(code, reason): the code and reason travel as the opaque data of an
//   HTTP/2 GOAWAY (there are no WebSocket close frames), then the socket ends;
// - ping(): an HTTP/2 PING, its ACK emitted as 'pong' (for keepalive.ts);
// - 'close' (code, reason): the code the peer's GOAWAY carried, else 1006.
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';

/** ws's readyState values, which the sessions compare against. */
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** WebSocket's codes for a normal close, and for a connection that ended without a close. */
const NORMAL_CLOSURE = 1000;
const ABNORMAL_CLOSURE = 1006;
/** A peer that does not finish closing within this is cut off. */
const CLOSE_GRACE_MS = 1000;
const MAX_REASON_BYTES = 123;

/** GOAWAY opaque data: `uplink-close <code> <reason>`. */
export function encodeLinkClose(code: number, reason: string): Buffer {
  return Buffer.concat([Buffer.from(`uplink-close ${code} `), Buffer.from(reason).subarray(0, MAX_REASON_BYTES)]);
}

export function decodeLinkClose(data: Buffer | undefined): { code: number; reason: string } | undefined {
  const match = /^uplink-close (\d{4}) (.*)$/s.exec(data?.toString('utf8') ?? '');
  return match ? { code: Number(match[1]), reason: match[2] ?? '' } : undefined;
}

type Http2Session = http2.ClientHttp2Session | http2.ServerHttp2Session;

export class H2LinkSocket extends EventEmitter {
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;
  readyState: number = OPEN;
  /** The socket HTTP/2 runs on: a TLS socket (or a plain one over http://). */
  readonly stream: Duplex;
  private session: Http2Session | undefined;
  private peerClose: { code: number; reason: string } | undefined;
  private ownClose: { code: number; reason: string } | undefined;
  /** The peer sent a plain GOAWAY (NO_ERROR, no close data): it is draining, as a WebSocket close 1000 would say. */
  private peerDrained = false;

  constructor(socket: Duplex) {
    super();
    this.stream = socket;
    socket.on('error', () => undefined);
    // The hub's sockets come from its HTTP server, which allows half-open
    // connections: without this, a peer that ended its side would leave ours
    // open until the keepalive gave up on it.
    socket.once('end', () => {
      socket.end();
      setTimeout(() => { socket.destroy(); }, CLOSE_GRACE_MS).unref();
    });
    socket.once('close', () => {
      this.readyState = CLOSED;
      const drained = this.peerDrained ? { code: NORMAL_CLOSURE, reason: 'peer drained' } : undefined;
      const { code, reason } = this.peerClose ?? this.ownClose ?? drained ?? { code: ABNORMAL_CLOSURE, reason: '' };
      this.emit('close', code, Buffer.from(reason));
    });
  }

  /** Called by the session that runs on `stream`: GOAWAY carries close codes, PING the keepalive. */
  attachSession(session: Http2Session): void {
    this.session = session;
    session.on('goaway', (errorCode: number, _lastStreamId: number, opaqueData?: Buffer) => {
      const close = decodeLinkClose(opaqueData);
      if (close) this.peerClose ??= close;
      else if (errorCode === http2.constants.NGHTTP2_NO_ERROR) this.peerDrained = true;
    });
  }

  /** Sends `code` and `reason` in a GOAWAY, then ends the socket; the peer gets them as its 'close'. */
  close(code: number, reason: string): void {
    if (this.readyState !== OPEN) return;
    this.readyState = CLOSING;
    this.ownClose = { code, reason };
    const session = this.session;
    if (session && !session.destroyed) {
      try {
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, encodeLinkClose(code, reason));
      } catch {
        // The session is already going away; the socket end below still happens.
      }
      // Not stream.end(): while the session is still writing (a response, a
      // push) an end of ours would go out before the queued GOAWAY, and the
      // peer would see the connection drop without its code. Destroying the
      // session flushes what it has queued, GOAWAY included, then ends the socket.
      session.destroy();
    } else {
      this.stream.end();
    }
    // Give the peer a moment to close its side.
    setTimeout(() => { this.terminate(); }, CLOSE_GRACE_MS).unref();
  }

  terminate(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSING;
    this.stream.destroy();
  }

  /** An HTTP/2 PING; its ACK is emitted as 'pong'. */
  ping(): void {
    const session = this.session;
    if (!session || session.destroyed || session.closed) return;
    try {
      session.ping((error) => { if (!error) this.emit('pong'); });
    } catch {
      // Too many unacknowledged pings: the keepalive's silence timer decides.
    }
  }
}

/**
 * Makes a TLS socket acceptable to node:http2's plain-text server: it checks
 * the socket's ALPN result and refuses anything but h2, while on the link
 * HTTP/2 was agreed by the Upgrade, not by ALPN.
 */
export function markUpgradedToHttp2(socket: Duplex): void {
  if ('alpnProtocol' in socket) (socket as { alpnProtocol: unknown }).alpnProtocol = 'h2';
}

/**
 * The hub's side of the upgrade: answers 101 and resolves once that answer
 * is written (HTTP/2 must not take the socket over while a write of ours is
 * in flight). Bytes the agent sent after its request (`head`) stay readable.
 */
export function acceptH2Upgrade(socket: Duplex, head: Buffer, upgrade: string): Promise<H2LinkSocket> {
  return new Promise((resolve, reject) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n\r\n`, (error) => {
      if (error) {
        reject(error);
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(new H2LinkSocket(socket));
    });
  });
}
