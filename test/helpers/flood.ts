// A connection flood as one hostile client makes it: plain TCP connections
// that never send a byte (no TLS hello, no request), from one local address,
// held open until the server closes them or the caller lets go.
import net from 'node:net';

export interface FloodOptions {
  host: string;
  port: number;
  /** Source address of every connection, e.g. 127.0.0.2 to tell the flood apart from other loopback clients. */
  localAddress: string;
  count: number;
  /** Connections being opened at once; the rest wait (a SYN burst beyond the listen backlog only adds retries). */
  concurrency?: number;
  /** After `count` attempts, open a new connection whenever one closes, until stop(): a sustained attack. */
  sustain?: boolean;
}

/** What happened to the flood's connections so far. */
export interface FloodTally {
  /** Connections the server accepted (the TCP handshake completed). */
  connected: number;
  /** Connections that ended, whoever ended them; refused and reset ones included. */
  closed: number;
  /** Connections that never connected (reset during the handshake, or an error such as EMFILE). */
  failed: number;
  /** Connections attempted. */
  attempted: number;
  /** Connections still open. */
  open: number;
}

export interface Flood {
  /** Resolves once every connection was attempted (not when they close). */
  started: Promise<void>;
  tally(): FloodTally;
  /** Closes what is still open. */
  stop(): void;
}

const DEFAULT_CONCURRENCY = 256;
/** Pause before a sustained flood replaces a closed connection. */
const SUSTAIN_DELAY_MS = 10;

/** Opens `count` idle connections to host:port from `localAddress`. */
export function flood(options: FloodOptions): Flood {
  const sockets = new Set<net.Socket>();
  const tally = { connected: 0, closed: 0, failed: 0, attempted: 0 };
  let stopped = false;
  const openOne = (): Promise<void> => new Promise((resolve) => {
    tally.attempted += 1;
    const socket = net.connect({ host: options.host, port: options.port, localAddress: options.localAddress });
    sockets.add(socket);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      tally.connected += 1;
      resolve();
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      sockets.delete(socket);
      tally.closed += 1;
      if (!connected) {
        tally.failed += 1;
        resolve();
      }
      if (options.sustain === true && !stopped && tally.attempted >= options.count) {
        // Not at once: a refused socket closes within a millisecond, and a tight loop would measure this process, not the hub.
        setTimeout(() => { if (!stopped) void openOne(); }, SUSTAIN_DELAY_MS);
      }
    });
  });
  const started = (async () => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!stopped && next < options.count) {
        next += 1;
        await openOne();
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? DEFAULT_CONCURRENCY }, worker));
  })();
  return {
    started,
    tally: () => ({ ...tally, open: sockets.size }),
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}
