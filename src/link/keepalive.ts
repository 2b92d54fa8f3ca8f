/**
 * What the link's sessions use of a WebSocket. ws's WebSocket is one; so is
 * H2LinkSocket (h2-socket.ts), which carries close codes in GOAWAY and pings
 * as HTTP/2 PING.
 */
export interface LinkWs {
  readonly readyState: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
  once(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'pong' | 'ping' | 'message', listener: () => void): unknown;
  off(event: 'pong' | 'ping' | 'message', listener: () => void): unknown;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
}

export interface KeepaliveOptions {
  /** How often to ping the peer. */
  intervalMs: number;
  /** Silence after which the peer is declared dead and the socket terminated. */
  deadAfterMs: number;
}

/**
 * Both ends ping every 15 s and give up after 45 s of silence: well under the
 * 60 s idle timeout common to cloud load balancers, and three missed pings
 * before a link is torn down.
 */
export const DEFAULT_KEEPALIVE: KeepaliveOptions = { intervalMs: 15_000, deadAfterMs: 45_000 };

/**
 * Keeps a WebSocket honest in both directions: pings on an interval, counts
 * any frame from the peer (pong, ping or data) as a sign of life, and
 * terminates the socket after `deadAfterMs` of silence, calling `onDead`
 * first. Returns a function that stops the timer.
 */
export function startKeepalive(ws: LinkWs, options: KeepaliveOptions, onDead: () => void): () => void {
  let lastSeen = Date.now();
  const seen = (): void => { lastSeen = Date.now(); };
  ws.on('pong', seen);
  ws.on('ping', seen);
  ws.on('message', seen);
  const timer = setInterval(() => {
    if (Date.now() - lastSeen > options.deadAfterMs) {
      stop();
      onDead();
      ws.terminate();
      return;
    }
    if (ws.readyState === ws.OPEN) ws.ping();
  }, Math.min(options.intervalMs, options.deadAfterMs / 2));
  timer.unref();
  function stop(): void {
    clearInterval(timer);
    ws.off('pong', seen);
    ws.off('ping', seen);
    ws.off('message', seen);
  }
  ws.once('close', stop);
  return stop;
}
