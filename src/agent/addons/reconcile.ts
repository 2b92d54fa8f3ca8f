// The reconcile steps of a sweep that act on the cluster beyond helm's own
// commands (the sweep, docs/addons.md): unlocking a release stuck in
// `pending-*`, drift against the live objects, self-heal and pruning. The
// engine calls them in the sweep's order for each add-on, while no helm of
// its own works on that add-on.
import type { AddonOperationReport } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import type { WorkerPool } from '../../util/worker-pool.ts';
import type { KubeClient } from '../kube.ts';
import type { AgentMetrics } from '../metrics.ts';
import { computeDrift, type ReleaseDrift } from './drift.ts';
import { healDrift } from './heal.ts';
import { deleteOrphans, findOrphans } from './prune.ts';
import { beginOperation, errorMessage, finishOperation, type Entry } from './engine-entry.ts';
import type { KindResolver } from './release-objects.ts';
import { unlockIfStuck } from './release-storage.ts';

/** Self-heal waits this long before its second attempt on an add-on that keeps drifting, doubling… */
const HEAL_BACKOFF_MS = 5_000;
/** …up to this, so a controller that keeps changing what the chart sets cannot cause a hot loop. */
const MAX_HEAL_BACKOFF_MS = 5 * 60_000;

/** A release pending this long is taken for stuck; above helm's --timeout plus hook time. */
export const DEFAULT_STUCK_AFTER_MS = 10 * 60_000;

export interface ReconcilerOptions {
  kube: KubeClient;
  resolver: KindResolver;
  log: Logger;
  metrics: AgentMetrics;
  /** Object reads and dry runs (the engine's object-read pool). */
  objectReads: WorkerPool;
  signal: AbortSignal;
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

  /**
   * Steps 2 and 3: compares the release's live objects with `manifest`
   * (server-side-apply dry runs, ignore rules on both sides); with
   * `selfHeal`, re-applies what drifted, under a capped backoff; with
   * `autoPrune`, deletes objects that carry the release's ownership but are
   * no longer rendered. `mayChange` is false outside the sync window: drift
   * is still reported, nothing is changed. Returns milliseconds until a
   * postponed heal is due, if one is.
   */
  async reconcileDrift<Refs>(entry: Entry<Refs>, manifest: string, mayChange: boolean): Promise<number | undefined> {
    const { spec } = entry.desired;
    const namespace = entry.release?.namespace ?? spec.namespace;
    const call = {
      kube: this.options.kube, resolver: this.options.resolver, release: { name: entry.desired.name, namespace },
      run: <T>(job: () => Promise<T>) => this.options.objectReads.run(job), signal: this.options.signal,
    };
    let drift = await computeDrift(manifest, { ...call, ignore: spec.ignoreDifferences });
    let dueInMs: number | undefined;
    if (drift.state === 'InSync') entry.heals = 0;
    if (drift.state === 'Drifted' && spec.syncPolicy.selfHeal && mayChange) {
      const wait = entry.heals === 0 ? 0 : Math.min(MAX_HEAL_BACKOFF_MS, HEAL_BACKOFF_MS * 2 ** (entry.heals - 1)) - (this.options.now() - entry.lastHealAt);
      if (wait <= 0) {
        await this.record(entry, 'heal', async () => {
          const outcomes = await healDrift(manifest, drift.objects, { ...call, ignore: spec.ignoreDifferences });
          const failed = outcomes.filter((o) => !o.ok);
          if (failed.length > 0) throw new Error(`could not re-apply ${failed.map((o) => `${o.kind}/${o.name}: ${o.message}`).join('; ')}`);
          return `re-applied ${outcomes.map((o) => `${o.kind}/${o.name}`).join(', ')}`;
        });
        entry.heals += 1;
        entry.lastHealAt = this.options.now();
        drift = await computeDrift(manifest, { ...call, ignore: spec.ignoreDifferences });
      } else {
        dueInMs = wait;
      }
    }
    for (const kind of drift.kinds) entry.kinds.set(`${kind.apiVersion}/${kind.kind}`, kind);
    // Only with every rendered object's UID known: an unread one would look like an orphan.
    const prunable = spec.syncPolicy.autoPrune && mayChange && drift.state !== 'Unknown' && drift.renderedUidsComplete;
    const pruned = prunable ? await this.prune(entry, drift, call) : [];
    entry.drift = {
      state: drift.state, objects: drift.objects, inspected: drift.inspected, checkedAt: drift.checkedAt, pruned,
    };
    return dueInMs;
  }

  /** Deletes the release's orphans; their `kind/namespace/name`. */
  private async prune<Refs>(entry: Entry<Refs>, drift: ReleaseDrift, call: Omit<Parameters<typeof findOrphans>[0], 'renderedUids' | 'kinds'>): Promise<string[]> {
    // The kinds of every revision seen, not only this one: an orphan is of a kind the chart may no longer render.
    const orphans = await findOrphans({ ...call, renderedUids: new Set(drift.renderedUids), kinds: [...entry.kinds.values()] });
    if (orphans.length === 0) return [];
    const names = orphans.map((o) => [o.kind, o.namespace, o.name].filter((part) => part !== undefined).join('/'));
    await this.record(entry, 'prune', async () => {
      const outcomes = await deleteOrphans({ kube: call.kube, resolver: call.resolver, orphans, run: call.run, signal: call.signal });
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length > 0) throw new Error(`could not delete ${failed.map((o) => `${o.kind}/${o.name}`).join(', ')}`);
      return `deleted ${names.join(', ')}`;
    });
    return names;
  }

  /** Runs a sweep operation as the add-on's last operation, with its report, metrics and log. */
  private async record<Refs>(entry: Entry<Refs>, action: AddonOperationReport['action'], run: () => Promise<string>): Promise<void> {
    const operation = beginOperation(entry, { action, trigger: 'sweep', manual: undefined, targetRevision: null }, this.options.now());
    let result: 'succeeded' | 'failed' = 'succeeded';
    let details: { message: string; code?: string };
    try {
      details = { message: await run() };
    } catch (error) {
      const failure = errorMessage(error);
      result = 'failed';
      details = { message: failure.message, code: failure.code };
    }
    const finished = finishOperation(entry, operation, result, details, this.options.now());
    this.options.metrics.addonOperations.inc({ action, result });
    this.options.metrics.addonOperationSeconds.observe({ action }, finished.durationSeconds);
    this.options.log.info({ addon: entry.desired.name, action, result, seconds: finished.durationSeconds }, `add-on ${action} ${result}`);
  }
}
