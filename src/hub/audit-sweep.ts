// Streams' audit rows left `in_progress` by a hub that died with the streams
// open (SIGKILL, a crash, a lost node) are marked `interrupted`, so no row
// says "in progress" for a stream that no longer runs:
// - at start, before serving: a hub alone on SQLite marks every open row (it
//   has none of its own yet); a replica marks those under its own name (left
//   by its previous run);
// - replicas sharing PostgreSQL also sweep while running, taking turns: a
//   replica serves streams only on links it holds, by claims it renews every
//   few seconds, so an open row whose replica no longer holds a live claim on
//   its cluster was left by a replica that died (its agent linked again
//   elsewhere, or its claims expired). The rare row whose replica is alive
//   but just lost the link is completed again by that replica when its
//   stream ends (Store.endAudit overwrites the mark).
import { background } from '../util/background.ts';
import type { Logger } from '../util/logger.ts';
import type { Store } from './store/index.ts';

/** How often replicas sweep; one of them does, each time. */
export const AUDIT_SWEEP_EVERY_MS = 10_000;

export interface AuditSweepOptions {
  store: Pick<Store, 'interruptAudit'>;
  log: Logger;
  /** Counts rows marked interrupted. */
  onInterrupted: (count: number) => void;
}

/**
 * Marks the rows a previous run left open: every one on a hub alone
 * (`replicaId` undefined), else the replica's own. Call before serving.
 */
export async function interruptLeftovers(options: AuditSweepOptions & { replicaId: string | undefined }): Promise<number> {
  const { replicaId } = options;
  const count = await options.store.interruptAudit(replicaId === undefined ? { kind: 'all' } : { kind: 'replica', replicaId });
  if (count > 0) {
    options.log.warn({ count }, 'audit: streams left open when this hub last stopped are marked interrupted');
    options.onInterrupted(count);
  }
  return count;
}

/**
 * Sweeps every `intervalMs` (the timer does not keep the process alive)
 * when `takeTurn` says this replica's turn has come. Returns a function that
 * stops it.
 */
export function startAuditSweep(options: AuditSweepOptions & { takeTurn: () => Promise<boolean>; intervalMs?: number }): () => void {
  const { store, log } = options;
  let running = false;
  const sweep = async (): Promise<void> => {
    // A slow sweep (a database in trouble) must not pile up behind itself.
    if (running) return;
    running = true;
    try {
      if (!(await options.takeTurn())) return;
      const count = await store.interruptAudit({ kind: 'unclaimed' });
      if (count > 0) {
        log.warn({ count }, 'audit: streams of replicas that no longer hold their cluster\'s link are marked interrupted');
        options.onInterrupted(count);
      }
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => { background(sweep(), log, 'could not sweep the audit log for interrupted streams'); }, options.intervalMs ?? AUDIT_SWEEP_EVERY_MS);
  timer.unref();
  return () => { clearInterval(timer); };
}

/**
 * Both sweeps for a hub starting: the leftovers now, then, for a replica
 * sharing its database (`shared` given), the periodic one. Resolves, once the
 * leftovers are marked, to a function that stops the periodic sweep.
 */
export async function startAuditSweeps(
  options: AuditSweepOptions & { shared?: { replicaId: string; takeTurn: () => Promise<boolean> } },
): Promise<() => void> {
  const { shared } = options;
  await interruptLeftovers({ ...options, replicaId: shared?.replicaId });
  return shared === undefined ? () => undefined : startAuditSweep({ ...options, takeTurn: shared.takeTurn });
}
