// Bounds on the hub's listening socket, so that idle or slow connections from
// one client cannot use up the process's file descriptors and memory and lock
// out agents and admins: a cap on open connections in all, a cap per remote
// address, and short deadlines for the TLS handshake and the request headers;
// and the size of a request line and headers, which is the API server's.
// Upgraded connections (agent links, exec, attach, port-forward) and long
// responses (watches, logs -f, live feeds) are not cut by any of these: the
// header and request deadlines end once a request has been read whole.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { HubSettings } from './config.ts';
import type { HubMetrics } from './metrics.ts';
import type { RequestHeads } from './request-heads.ts';
import { ConfigError } from '../util/settings.ts';
import { KUBE_MAX_HEAD_BYTES } from '../kube/limits.ts';

/**
 * Longest request line and headers the hub reads, as the API server (see
 * KUBE_MAX_HEAD_BYTES) rather than Node's 16 KiB: exec commands and label
 * and field selectors travel in the URL. A connection holds what it has
 * received of a head until it is complete, so only a few may be inside a
 * long one at a time (request-heads.ts).
 */
export const MAX_REQUEST_HEAD_BYTES = KUBE_MAX_HEAD_BYTES;
/** File descriptors the hub needs besides client sockets (database, TLS files, the agent's helm children are elsewhere). */
const RESERVED_DESCRIPTORS = 256;
/** The most often Node checks for connections past their header or request deadline. */
const MAX_CHECK_INTERVAL_MS = 5_000;

/** The settings this module applies. */
export type ConnectionLimits = Pick<
  HubSettings,
  'maxConnections' | 'maxConnectionsPerAddress' | 'tlsHandshakeTimeout' | 'headersTimeout' | 'requestTimeout' | 'keepaliveTimeout'
>;

/** Server options that must be given at creation (https.createServer / http.createServer). */
export function serverCreationOptions(limits: ConnectionLimits): { handshakeTimeout: number; connectionsCheckingInterval: number; maxHeaderSize: number } {
  const headersMs = limits.headersTimeout * 1000;
  return {
    maxHeaderSize: MAX_REQUEST_HEAD_BYTES,
    handshakeTimeout: limits.tlsHandshakeTimeout * 1000,
    // The deadlines are enforced by a periodic sweep; a quarter of the header
    // deadline keeps the overshoot small without sweeping often at scale.
    connectionsCheckingInterval: Math.min(MAX_CHECK_INTERVAL_MS, Math.max(100, Math.floor(headersMs / 4))),
  };
}

/** Refuses settings Node would reject or that could never hold: the request deadline includes the headers'. */
export function checkConnectionLimits(limits: ConnectionLimits): void {
  if (limits.requestTimeout < limits.headersTimeout) {
    throw new ConfigError(`--request-timeout (${limits.requestTimeout} s) must be at least --headers-timeout (${limits.headersTimeout} s)`);
  }
  if (limits.maxConnectionsPerAddress > limits.maxConnections) {
    throw new ConfigError(`--max-connections-per-address (${limits.maxConnectionsPerAddress}) must not exceed --max-connections (${limits.maxConnections})`);
  }
}

/** The soft RLIMIT_NOFILE of this process on Linux, or undefined where /proc cannot tell. */
export function openFileLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/**
 * The key a remote address is counted under: an IPv4 address itself (an
 * IPv4-mapped IPv6 one as IPv4), an IPv6 address by its /64, since one host
 * commonly holds a whole /64 and could otherwise take a share per address.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Counts connections per remote address (see addressKey). Bounded: an address is kept only
 * while it has an open connection, and open connections are capped.
 */
export class AddressCounter {
  readonly #open = new Map<string, number>();
  readonly #limit: number;

  /** `limit` 0 means no cap per address. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot for `address`; false when it already holds its share. */
  tryAdd(address: string): boolean {
    const count = this.#open.get(address) ?? 0;
    if (this.#limit > 0 && count >= this.#limit) return false;
    this.#open.set(address, count + 1);
    return true;
  }

  remove(address: string): void {
    const count = (this.#open.get(address) ?? 0) - 1;
    if (count > 0) this.#open.set(address, count);
    else this.#open.delete(address);
  }

  get addresses(): number {
    return this.#open.size;
  }
}

export interface GuardConnectionsOptions {
  server: http.Server;
  limits: ConnectionLimits;
  metrics: HubMetrics;
  /** Watches request heads as they arrive, bounding the long ones (request-heads.ts). */
  heads?: Pick<RequestHeads, 'attach'>;
  /** Called once with a warning when the connection cap is above what the file descriptor limit allows. */
  warn: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * Applies the caps and deadlines to a listening server (http or https) and
 * counts what they refuse or cut in the hub's metrics.
 */
export function guardConnections(options: GuardConnectionsOptions): void {
  const { server, limits, metrics } = options;
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeout * 1000;
  server.requestTimeout = limits.requestTimeout * 1000;
  server.keepAliveTimeout = limits.keepaliveTimeout * 1000;
  const fileLimit = openFileLimit();
  if (fileLimit !== undefined && limits.maxConnections > fileLimit - RESERVED_DESCRIPTORS) {
    options.warn('--max-connections is above what the open-file limit leaves; raise ulimit -n or lower the cap', {
      maxConnections: limits.maxConnections, openFileLimit: fileLimit,
    });
  }
  // Past the global cap Node closes the socket before any TLS work.
  server.on('drop', () => { metrics.connectionsRefused.inc({ reason: 'max_connections' }); });
  const perAddress = new AddressCounter(limits.maxConnectionsPerAddress);
  // First among the listeners, so a refused socket is closed before TLS wraps it.
  server.prependListener('connection', (socket: Socket) => {
    const address = addressKey(socket.remoteAddress ?? '');
    if (!perAddress.tryAdd(address)) {
      metrics.connectionsRefused.inc({ reason: 'max_per_address' });
      socket.destroy();
      return;
    }
    metrics.connectionsOpen.inc();
    socket.once('close', () => {
      perAddress.remove(address);
      metrics.connectionsOpen.dec();
    });
  });
  options.heads?.attach(server);
  server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') metrics.connectionsTimedOut.inc({ phase: 'tls_handshake' });
  });
  // Requests cut by the header and request deadlines are answered and counted by client-errors.ts.
}
