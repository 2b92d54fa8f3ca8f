// The reconcile steps of a sweep that act on the cluster beyond helm's own
// commands (DESIGN section 5, the sweep): unlocking a release stuck in
// `pending-*`. The engine calls them in the sweep's order for each add-on,
// while no helm of its own works on that add-on.
import type { Logger } from '../../util/logger.ts';
import type { WorkerPool } from '../../util/worker-pool.ts';
import type { KubeClient } from '../kube.ts';
import type { Entry } from './engine-entry.ts';
import { unlockIfStuck } from './release-storage.ts';

/** A release pending this long is taken for stuck; above helm's --timeout plus hook time. */
export const DEFAULT_STUCK_AFTER_MS = 10 * 60_000;

export interface ReconcilerOptions {
  kube: KubeClient;
  log: Logger;
  /** The engine's read pool: the steps' API reads queue with helm's. */
  reads: WorkerPool;
  stuckAfterMs?: number;
  now: () => number;
}

export class Reconciler {
  private readonly options: ReconcilerOptions;
  private readonly stuckAfterMs: number;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  }

  /**
   * Step 1: a release whose current revision has been pending for longer than
   * the threshold is marked failed, so the upgrade that follows (with
   * rollback on failure) recovers it. Returns true when it unlocked one (the
   * release must be read again), or the milliseconds until a younger pending
   * one will be old enough.
   */
  async unlockStuck<Refs>(entry: Entry<Refs>): Promise<{ unlocked: boolean; dueInMs?: number }> {
    const { release } = entry;
    if (release === null || !release.status.startsWith('pending-')) return { unlocked: false };
    const check = await this.options.reads.run(() => unlockIfStuck(
      this.options.kube, { name: entry.desired.name, namespace: release.namespace, revision: release.revision, status: release.status },
      this.stuckAfterMs, this.options.now(),
    ));
    if (!check.stuck) return { unlocked: false };
    if ('due' in check) return { unlocked: false, dueInMs: check.due };
    this.options.log.warn({
      addon: entry.desired.name, revision: check.unlocked.revision, status: check.unlocked.status, pendingMinutes: Math.round(check.pendingFor / 60_000),
    }, 'unlocked a release stuck in pending: marked its revision failed');
    return { unlocked: true };
  }
}
