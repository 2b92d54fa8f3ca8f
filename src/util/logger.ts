import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Fields that may hold a credential. pino replaces them before a line is
 * written, as a second line of defence: code should not log them at all.
 */
const REDACTED_PATHS = [
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization',
  'req.headers.authorization', 'req.headers.cookie', 'caKey', 'keyPem',
  // A WebSocket upgrade may carry a bearer token as a subprotocol (src/kube/bearer.ts).
  'headers["sec-websocket-protocol"]', 'req.headers["sec-websocket-protocol"]',
];

/** Called with each line a logger writes (JSON, redacted, without its newline); must not throw. */
export type LogLineListener = (line: string) => void;

/**
 * The stream under a logger: each line goes to stdout, then to the
 * listeners, so a process can show its own recent lines (the agent's
 * runtime endpoints) without a second logger or reading its stdout back.
 */
class TappedStream {
  readonly listeners = new Set<LogLineListener>();
  private readonly out = pino.destination({ dest: 1, sync: true });

  write(line: string): void {
    this.out.write(line);
    if (this.listeners.size === 0) return;
    const trimmed = line.endsWith('\n') ? line.slice(0, -1) : line;
    for (const listener of this.listeners) {
      try {
        listener(trimmed);
      } catch {
        // A listener's failure must not fail the code that logged; stdout has the line.
      }
    }
  }

  flushSync(): void {
    this.out.flushSync();
  }
}

/**
 * Calls `listener` with every line `log` (or its parent created by
 * createLogger, or a child) writes from now on; returns the unsubscribe. A
 * logger not made by createLogger has no tap: nothing is called.
 */
export function tapLogLines(log: Logger, listener: LogLineListener): () => void {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  if (!(stream instanceof TappedStream)) return () => undefined;
  stream.listeners.add(listener);
  return () => { stream.listeners.delete(listener); };
}

/** The one logger: JSON lines on stdout, synchronous so the last lines survive an exit. */
export function createLogger(options: { name: string; level?: LevelWithSilent }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { component: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, new TappedStream());
}

/**
 * `log` with its warnings limited to one per `intervalMs`, for warnings a
 * peer can cause at will (a malformed event per line); the next one written
 * says how many were left out. Every other level passes through.
 */
export function throttledWarnings(log: Logger, intervalMs: number, now: () => number = Date.now): Logger {
  let last = -Infinity;
  let suppressed = 0;
  // pino's own children are made this way: the prototype carries the level, bindings and stream.
  const throttled = Object.create(log) as Logger;
  throttled.warn = ((fields: object, message?: string) => {
    if (now() - last < intervalMs) {
      suppressed += 1;
      return;
    }
    last = now();
    log.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, message);
    suppressed = 0;
  });
  return throttled;
}
