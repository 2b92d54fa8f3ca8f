// Audit retention: rows older than the retention period are deleted when the
// hub starts and every hour after, so the audit log stays bounded.
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import type { Store } from './store/index.ts';

/** How often the audit log is pruned unless told otherwise. */
export const AUDIT_PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface AuditRetentionOptions {
  store: Store;
  /** Rows older than this many days are deleted; must be positive. */
  retentionDays: number;
  log: Logger;
  intervalMs?: number;
  /**
   * Whether this hub prunes this round; replicas sharing a database take
   * turns so the log is pruned once per interval across them. Always, unless set.
   */
  takeTurn?: () => Promise<boolean>;
  /** The clock; tests replace it. */
  now?: () => number;
}

/**
 * Prunes the audit log now and every `intervalMs` (the timer does not keep
 * the process alive). Returns a function that stops it.
 */
export function startAuditRetention(options: AuditRetentionOptions): () => void {
  const { store, retentionDays, log } = options;
  if (!(retentionDays > 0)) throw new RangeError(`retentionDays must be positive, got ${retentionDays}`);
  const now = options.now ?? Date.now;
  let running = false;
  const prune = async (): Promise<void> => {
    // A slow prune must not overlap the next one.
    if (running) return;
    running = true;
    const olderThan = new Date(now() - retentionDays * DAY_MS).toISOString();
    try {
      if (options.takeTurn !== undefined && !(await options.takeTurn())) return;
      const removed = await store.pruneAudit(olderThan);
      if (removed > 0) log.info({ removed, olderThan, retentionDays }, 'pruned the audit log');
      else log.debug({ olderThan }, 'audit log: nothing to prune');
    } catch (error) {
      log.error({ err: error }, 'could not prune the audit log');
    } finally {
      running = false;
    }
  };
  background(prune(), log, 'could not prune the audit log');
  const timer = setInterval(() => { background(prune(), log, 'could not prune the audit log'); }, options.intervalMs ?? AUDIT_PRUNE_INTERVAL_MS);
  timer.unref();
  return () => { clearInterval(timer); };
}
