// Where every audit row goes before the store, so that what anyone can make
// the hub write stays bounded: each text field is cut to a documented length
// (with a marker saying how much was cut), and refusals of unauthenticated
// requests, which anyone can send, are stored one row each only while a token
// bucket allows; beyond it they are counted, and one summary row per interval
// and status (401 for missing tokens, 431 for oversized request heads) says
// how many were not stored one by one. Attempts stay visible; a flood cannot
// grow the database without bound.
import type { AuditRecord } from './store/index.ts';

/** The longest each text field of an audit row is stored, in characters (UTF-16 units). */
export const AUDIT_FIELD_LIMITS = {
  path: 512, command: 512, name: 253, namespace: 63, resource: 253, subresource: 63, verb: 32, userName: 253, clusterName: 253,
} as const satisfies Partial<Record<keyof AuditRecord, number>>;

/** Rows of unauthenticated refusals stored at once before the bucket runs dry. */
export const ANONYMOUS_BURST = 30;
/** Then one more row every this many milliseconds. */
export const ANONYMOUS_REFILL_MS = 60_000;
/** How often a summary row of the refusals not stored one by one is written (when there were any). */
export const ANONYMOUS_SUMMARY_MS = 60_000;
/** The user name of rows whose token was missing or invalid. */
export const UNAUTHENTICATED_USER = '(unauthenticated)';

/** `text`, or its head and a marker saying how many characters were cut, within `limit` characters. */
export function truncateField(text: string, limit: number): string {
  if (text.length <= limit) return text;
  // The marker's own length depends on the count; one pass with the widest count is enough.
  const marker = (cut: number): string => `…[+${cut} chars]`;
  const keep = limit - marker(text.length).length;
  return `${text.slice(0, keep)}${marker(text.length - keep)}`;
}

/** The record with every text field within AUDIT_FIELD_LIMITS. */
export function boundAuditRecord(record: AuditRecord): AuditRecord {
  const out = { ...record };
  for (const [field, limit] of Object.entries(AUDIT_FIELD_LIMITS) as [keyof typeof AUDIT_FIELD_LIMITS, number][]) {
    const value = out[field];
    if (typeof value === 'string') out[field] = truncateField(value, limit);
  }
  return out;
}

export interface AuditSinkOptions {
  /** Stores one row; failures are the writer's to report. */
  write: (record: AuditRecord) => void;
  /** Counts a refusal that was not stored as its own row. */
  onSuppressed: () => void;
  /** The clock; tests use mock timers. */
  now?: () => number;
}

/** Bounds and rate-limits audit rows on their way to the store; close() stops its timer. */
export class AuditSink {
  readonly #options: AuditSinkOptions;
  readonly #now: () => number;
  #tokens = ANONYMOUS_BURST;
  #refilledAt: number;
  /** Refusals not stored one by one since the last summary, by status: how many, and the time of the first. */
  readonly #suppressed = new Map<number, { count: number; since: string }>();
  readonly #timer: NodeJS.Timeout;

  constructor(options: AuditSinkOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#refilledAt = this.#now();
    this.#timer = setInterval(() => { this.flush(); }, ANONYMOUS_SUMMARY_MS);
    this.#timer.unref();
  }

  /** Stores `record` (bounded), or counts it when it is an unauthenticated refusal beyond the bucket. */
  record(record: AuditRecord): void {
    if (record.userId === '' && record.userName === UNAUTHENTICATED_USER && !this.#take()) {
      // Statuses come from the hub's own code (401, 431), so this map holds a handful of keys.
      const held = this.#suppressed.get(record.status) ?? { count: 0, since: record.at };
      held.count += 1;
      this.#suppressed.set(record.status, held);
      this.#options.onSuppressed();
      return;
    }
    this.#options.write(boundAuditRecord(record));
  }

  /** Writes a summary row per status of the refusals counted since the last summary, if any. */
  flush(): void {
    const now = new Date(this.#now()).toISOString();
    for (const [status, { count, since }] of this.#suppressed) {
      this.#options.write({
        at: since, userId: '', userName: UNAUTHENTICATED_USER, clusterId: '', clusterName: '', verb: 'summary',
        resource: 'refusals', subresource: null, namespace: null, name: `${count} not stored one by one`,
        path: `${count} unauthenticated requests refused with ${status} between ${since} and ${now} beyond the audit log's rate for them`,
        status, bytesIn: 0, bytesOut: 0, durationMs: Date.parse(now) - Date.parse(since), command: null,
      });
    }
    this.#suppressed.clear();
  }

  /** Writes what is pending and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }

  #take(): boolean {
    const now = this.#now();
    const earned = Math.floor((now - this.#refilledAt) / ANONYMOUS_REFILL_MS);
    if (earned > 0) {
      this.#tokens = Math.min(ANONYMOUS_BURST, this.#tokens + earned);
      this.#refilledAt += earned * ANONYMOUS_REFILL_MS;
    }
    if (this.#tokens === 0) return false;
    this.#tokens -= 1;
    return true;
  }
}
