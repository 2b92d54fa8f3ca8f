// The two transports a link runs on, behind one interface: HTTP/2 on the TLS
// socket itself after an `uplink-h2.v1` upgrade (h2-socket.ts), or HTTP/2 over
// WebSocket messages (ws-stream.ts). The sessions (hub-session.ts,
// agent-session.ts) use only this interface and never ask which one they run on.
import type http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { H2LinkSocket } from './h2-socket.ts';
import type { LinkWs } from './keepalive.ts';
import { createLinkStream } from './ws-stream.ts';

type Http2Session = http2.ClientHttp2Session | http2.ServerHttp2Session;

/** A peer that does not finish a WebSocket close within this is cut off. */
const WS_CLOSE_GRACE_MS = 2000;

export interface LinkTransport {
  /** For logs and metrics only. */
  readonly kind: 'h2' | 'websocket';
  /** State, close events and keepalive pings (a WebSocket, or what acts as one). */
  readonly ws: LinkWs;
  /** The byte stream HTTP/2 runs on. */
  readonly stream: Duplex;
  /** Hands the transport the HTTP/2 session running on it (over h2, GOAWAY carries close codes and PING the keepalive). */
  attach(session: Http2Session): void;
  /**
   * Ends the link telling the peer `code` and `reason`, the session's GOAWAY
   * included, in the order the transport needs: over h2 the code rides on
   * the GOAWAY, over WebSocket on the close frame after it.
   */
  close(session: Http2Session | undefined, code: number, reason: string): void;
}

/** HTTP/2 over the messages of an open WebSocket. Create it when the socket opens: bytes may follow at once. */
export function webSocketTransport(ws: WebSocket): LinkTransport {
  const stream = createLinkStream(ws);
  return {
    kind: 'websocket', ws, stream,
    attach: () => undefined,
    close: (session, code, reason) => {
      if (session && !session.closed) session.close();
      ws.close(code, reason);
      setTimeout(() => { ws.terminate(); }, WS_CLOSE_GRACE_MS).unref();
    },
  };
}

/** HTTP/2 on the upgraded socket itself. */
export function h2Transport(socket: H2LinkSocket): LinkTransport {
  return {
    kind: 'h2', ws: socket, stream: socket.stream,
    attach: (session) => { socket.attachSession(session); },
    close: (session, code, reason) => {
      socket.close(code, reason);
      if (session && !session.closed) session.close();
    },
  };
}
