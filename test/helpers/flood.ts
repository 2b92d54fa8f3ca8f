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
  /** Attempts per second at most (default: as fast as `concurrency` allows). */
  ratePerSecond?: number;
  /** After `count` attempts, keep opening connections (at `ratePerSecond`) until stop(): a sustained attack. */
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

/** Opens `count` idle connections to host:port from `localAddress`. */
export function flood(options: FloodOptions): Flood {
  const sockets = new Set<net.Socket>();
  const tally = { connected: 0, closed: 0, failed: 0, attempted: 0 };
  let stopped = false;
  // A function, not the variable: stop() may run while a worker awaits its turn.
  const isStopped = (): boolean => stopped;
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
    });
  });
  const startedAt = performance.now();
  /** Waits for the next attempt's turn under ratePerSecond. */
  const pace = async (attempt: number): Promise<void> => {
    if (options.ratePerSecond === undefined) return;
    const due = startedAt + (attempt * 1000) / options.ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  };
  let next = 0;
  const worker = async (limit: () => boolean): Promise<void> => {
    while (!isStopped() && limit()) {
      const attempt = next;
      next += 1;
      await pace(attempt);
      if (!isStopped()) await openOne();
    }
  };
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const started = Promise.all(Array.from({ length: concurrency }, () => worker(() => next < options.count))).then(() => undefined);
  if (options.sustain === true) {
    // Keeps going past `count` until stop(); `started` still resolves once `count` attempts were made.
    void started.then(() => Promise.all(Array.from({ length: concurrency }, () => worker(() => true))));
  }
  return {
    started,
    tally: () => ({ ...tally, open: sockets.size }),
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}
