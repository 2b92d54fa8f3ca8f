// The agent's own recent log lines, for /api/realtime/logs: a tap on its
// logger into a bounded buffer. pino has already redacted credential
// fields; this is a second net for a token written inside a message text.
import { tapLogLines, type Logger } from '../../util/logger.ts';
import { ReplayBuffer } from './replay-buffer.ts';

/** Lines kept for replay to a new client. */
export const LOG_REPLAY = 200;
/** A longer line is replaced by a short JSON note with its start. */
export const MAX_LOG_LINE_CHARS = 8 * 1024;
/** How much of an over-long line the note keeps. */
const TRUNCATED_START_CHARS = 1024;

/**
 * Uplink tokens (`upc_<id>_<secret>`, `upk_<id>_<secret>`) and bearer
 * credentials, wherever they appear in a line.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bup[ck]_[a-z0-9]{1,63}_[A-Za-z0-9_-]{16,}/g,
  /\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

/** `line` with every token-shaped text and every `extra` secret replaced by `[redacted]`. */
export function scrubSecrets(line: string, extra: readonly string[] = []): string {
  let out = line;
  for (const secret of extra) {
    // Short strings would blank ordinary words; every real secret here is long.
    if (secret.length >= 8) out = out.split(secret).join('[redacted]');
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, scheme: unknown) => (typeof scheme === 'string' ? `${scheme} [redacted]` : '[redacted]'));
  }
  return out;
}

/** The line as kept: scrubbed, and an over-long one replaced by a note that is itself one JSON line. */
export function shapeLogLine(line: string, secrets: readonly string[] = []): string {
  const scrubbed = scrubSecrets(line, secrets);
  if (scrubbed.length <= MAX_LOG_LINE_CHARS) return scrubbed;
  return JSON.stringify({ level: 'info', msg: '[line truncated]', chars: scrubbed.length, start: scrubbed.slice(0, TRUNCATED_START_CHARS) });
}

export interface LogRingOptions {
  log: Logger;
  capacity?: number;
  /** Secrets known to this process (the configured token), scrubbed from every line. */
  secrets?: () => readonly string[];
}

/** Keeps the last lines the agent logged; stop() removes the tap. */
export class LogRing {
  readonly buffer: ReplayBuffer<string>;
  private readonly untap: () => void;

  constructor(options: LogRingOptions) {
    this.buffer = new ReplayBuffer<string>(options.capacity ?? LOG_REPLAY);
    const secrets = options.secrets ?? (() => []);
    this.untap = tapLogLines(options.log, (line) => { this.buffer.push(shapeLogLine(line, secrets())); });
  }

  stop(): void {
    this.untap();
  }
}
