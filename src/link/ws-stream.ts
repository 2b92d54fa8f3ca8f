import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';

/**
 * The byte stream HTTP/2 runs on. ws's own stream closes the WebSocket with
 * no status code (1005 at the peer) as soon as its writable side ends, which
 * HTTP/2 does while tearing a session down; that would overtake the code the
 * session means to send (1000 after a drain, 4003 on a protocol error). Here
 * ending the writable side does nothing, and the sessions close the
 * WebSocket themselves.
 */
export function createLinkStream(ws: WebSocket): Duplex {
  const stream = createWebSocketStream(ws);
  stream._final = (callback: (error?: Error | null) => void): void => { callback(); };
  return stream;
}
