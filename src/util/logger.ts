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
];

/** The one logger: JSON lines on stdout, synchronous so the last lines survive an exit. */
export function createLogger(options: { name: string; level?: LevelWithSilent }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { component: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, pino.destination({ dest: 1, sync: true }));
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
