// Connects to one of a target's endpoints: from a random one on, so forwards
// spread over a Service's endpoints, trying the next when one refuses or does
// not answer in time, within a bounded number of attempts.
import { connect, type Socket } from 'node:net';
import { dialOrder, type Endpoint } from './endpoints.ts';

/** Endpoints tried per forward at most. */
export const MAX_DIAL_ATTEMPTS = 3;
/** Time one connection attempt gets. */
export const DIAL_TIMEOUT_MS = 5_000;

/** No endpoint accepted; `reasons` holds each attempt's error code (never an address: the hub user sees it). */
export class DialError extends Error {
  override readonly name = 'DialError';
  readonly reasons: string[];

  constructor(reasons: string[]) {
    super(`no endpoint accepted the connection (${reasons.join(', ')})`);
    this.reasons = reasons;
  }
}

export interface DialOptions {
  endpoints: readonly Endpoint[];
  /** Aborts the attempts (the hub cancelled the forward). */
  signal?: AbortSignal;
  timeoutMs?: number;
  maxAttempts?: number;
  random?: () => number;
  /** Opens a connection; tests may replace it. */
  connect?: (endpoint: Endpoint) => Socket;
}

/** Connects to `endpoint` or rejects with the error's code (ETIMEDOUT when it takes too long). */
function attempt(open: (endpoint: Endpoint) => Socket, endpoint: Endpoint, timeoutMs: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = open(endpoint);
    const fail = (code: string): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      socket.destroy();
      reject(new Error(code));
    };
    const aborted = (): void => { fail('ABORTED'); };
    const timer = setTimeout(() => { fail('ETIMEDOUT'); }, timeoutMs);
    signal?.addEventListener('abort', aborted, { once: true });
    socket.once('error', (error: NodeJS.ErrnoException) => { fail(error.code ?? 'ERROR'); });
    socket.once('connect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** The first endpoint that accepts, with its socket; DialError when none does within the attempts. */
export async function dialEndpoint(options: DialOptions): Promise<{ socket: Socket; endpoint: Endpoint }> {
  const open = options.connect ?? ((e: Endpoint): Socket => connect({ host: e.address, port: e.port, allowHalfOpen: true }));
  const order = dialOrder(options.endpoints, options.random).slice(0, options.maxAttempts ?? MAX_DIAL_ATTEMPTS);
  const reasons: string[] = [];
  for (const endpoint of order) {
    if (options.signal?.aborted === true) break;
    try {
      return { socket: await attempt(open, endpoint, options.timeoutMs ?? DIAL_TIMEOUT_MS, options.signal), endpoint };
    } catch (error) {
      reasons.push((error as Error).message);
    }
  }
  throw new DialError(reasons.length > 0 ? reasons : ['no endpoint to try']);
}
