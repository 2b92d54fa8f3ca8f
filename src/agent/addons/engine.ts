// The agent's add-on engine (docs/addons.md): applies the desired add-ons
// the hub pushed with the real helm, in dependency order, and reports each
// add-on's status (release, health, history, last operation).
//
// Each add-on is worked on by itself, one piece of work at a time: a change,
// a manual operation or the periodic refresh schedules it, and work that
// arrives while it runs makes it run once more afterwards. So one slow
// upgrade never holds up the others. Helm runs through two bounded pools, one
// for reads (history, metadata, manifest, the objects' health) and one for
// writes (install, upgrade, rollback, uninstall).
//
// An add-on is applied when the release does not run its desired spec: the
// spec's digest is a label on each revision the agent writes, so a restarted
// agent knows what the release runs without redoing it. A failure is retried
// under the add-on's retry policy; a new spec starts the count again. A manual
// rollback holds the release at the chosen revision until the spec changes
// or a sync is asked for. Drift, pruning, sync windows and stuck-release
// recovery are the reconcile loop's (reconcile.ts).
import { randomUUID } from 'node:crypto';
import type { AddonOperationRequest, AddonStatus, AddonSweepReport, DesiredAddonSet } from '../../link/addons.ts';
import type { ChartSource } from '../../domain/addon-spec/source.ts';
import { background } from '../../util/background.ts';
import type { Logger } from '../../util/logger.ts';
import { WorkerPool } from '../../util/worker-pool.ts';
import type { KubeClient } from '../kube.ts';
import type { AgentMetrics } from '../metrics.ts';
import {
  checkOperation, decide, errorMessage, setPhase, isReady, newEntry, statusKey, statusOf, truncate,
  type Entry, type ManualOperation,
} from './engine-entry.ts';
import type { HelmRunner } from './helm-runner.ts';
import { AddonOperations } from './operations.ts';
import { retireMovedRelease } from './namespace-move.ts';
import { Reconciler } from './reconcile.ts';
import { ReleaseReader, type ReleaseObjects } from './release-reader.ts';
import type { KindResolver } from './release-objects.ts';
import { windowState } from './sync-window.ts';
import { specDigest, waitingFor, type DependencyState } from './release-plan.ts';

export const DEFAULT_READ_WORKERS = 5;
export const DEFAULT_WRITE_WORKERS = 5;
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
export const DEFAULT_HELM_TIMEOUT_SECONDS = 300;
/** Helm jobs allowed to wait per pool (every add-on of a full cluster, twice). */
const MAX_QUEUED_JOBS = 1000;
/** Object GETs of health checks run this many times the read workers at once: they are far cheaper than a helm process. */
const OBJECT_READS_PER_WORKER = 4;
/** Object GETs allowed to wait (a release reads at most 500 objects). */
const MAX_QUEUED_OBJECT_READS = 50_000;

/** Turns a chart source into helm's chart argument and flags (chart-source.ts). */
export type ResolveChart = (source: ChartSource, version: string, signal: AbortSignal) => Promise<{ chart: string; args: string[] }>;

export type { ReleaseObjects } from './release-reader.ts';

export interface AddonEngineOptions<Refs> {
  helm: HelmRunner;
  resolveChart: ResolveChart;
  /** Decrypts SOPS-encrypted values (plain values pass through); without it values go to helm as they are. */
  prepareValues?: (values: string, signal: AbortSignal) => Promise<string>;
  objects: ReleaseObjects<Refs>;
  log: Logger;
  metrics: AgentMetrics;
  readWorkers?: number;
  writeWorkers?: number;
  /** How often every add-on's release and health are read again. */
  sweepIntervalMs?: number;
  /** Helm's `--timeout` for installs, upgrades, rollbacks and uninstalls. */
  helmTimeoutSeconds?: number;
  /** The agent's API client and discovery, for the reconcile steps beyond helm. */
  kube: KubeClient;
  resolver: KindResolver;
  /** A release pending this long is unlocked (DEFAULT_STUCK_AFTER_MS). */
  stuckAfterMs?: number;
  now?: () => number;
}

export class AddonEngine<Refs> {
  private readonly options: AddonEngineOptions<Refs>;
  private readonly log: Logger;
  private readonly helm: HelmRunner;
  private readonly reads: WorkerPool;
  private readonly writes: WorkerPool;
  private readonly objectReads: WorkerPool;
  private readonly reconciler: Reconciler;
  private readonly releases: ReleaseReader<Refs>;
  private readonly operations: AddonOperations<Refs>;
  private readonly entries = new Map<string, Entry<Refs>>();
  private readonly listeners = new Set<(status: AddonStatus) => void>();
  private readonly stopping = new AbortController();
  private readonly sweepIntervalMs: number;
  private readonly helmTimeoutSeconds: number;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private lastSweepReport: AddonSweepReport | undefined;
  private readonly sweepListeners = new Set<(report: AddonSweepReport) => void>();
  private readonly idle = new Set<() => void>();

  constructor(options: AddonEngineOptions<Refs>) {
    this.options = options;
    this.log = options.log.child({ component: 'addons' });
    this.helm = options.helm;
    this.now = options.now ?? Date.now;
    this.sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.helmTimeoutSeconds = options.helmTimeoutSeconds ?? DEFAULT_HELM_TIMEOUT_SECONDS;
    const gauge = (pool: string) => (state: { running: number; queued: number }): void => {
      options.metrics.addonPoolJobs.set({ pool, state: 'running' }, state.running);
      options.metrics.addonPoolJobs.set({ pool, state: 'queued' }, state.queued);
    };
    this.reads = new WorkerPool({ name: 'add-on read', workers: options.readWorkers ?? DEFAULT_READ_WORKERS, maxQueued: MAX_QUEUED_JOBS, onChange: gauge('read') });
    this.writes = new WorkerPool({ name: 'add-on write', workers: options.writeWorkers ?? DEFAULT_WRITE_WORKERS, maxQueued: MAX_QUEUED_JOBS, onChange: gauge('write') });
    this.objectReads = new WorkerPool({
      name: 'add-on object read', workers: (options.readWorkers ?? DEFAULT_READ_WORKERS) * OBJECT_READS_PER_WORKER,
      maxQueued: MAX_QUEUED_OBJECT_READS, onChange: gauge('object-read'),
    });
    this.operations = new AddonOperations<Refs>({
      helm: this.helm, writes: this.writes, resolveChart: options.resolveChart,
      prepareValues: options.prepareValues ?? ((values) => Promise.resolve(values)), metrics: options.metrics, log: this.log,
      helmTimeoutSeconds: this.helmTimeoutSeconds, signal: this.stopping.signal, now: this.now,
      readRelease: (entry) => this.releases.read(entry), emit: (entry) => { this.emit(entry); }, later: (entry, ms) => { this.later(entry, ms); },
    });
    this.releases = new ReleaseReader<Refs>({
      helm: this.helm, reads: this.reads, objectReads: this.objectReads, objects: options.objects, signal: this.stopping.signal, now: this.now,
    });
    this.reconciler = new Reconciler({
      kube: options.kube, resolver: options.resolver, log: this.log, metrics: options.metrics, reads: this.reads,
      objectReads: this.objectReads, signal: this.stopping.signal, stuckAfterMs: options.stuckAfterMs, now: this.now,
    });
  }

  /** Starts the periodic sweep; `set` is the desired set held at start, if any. */
  start(set: DesiredAddonSet | undefined): void {
    if (set) this.update(set);
    background(this.sweep(), this.log, 'an add-on sweep failed');
    this.sweepTimer = setInterval(() => { background(this.sweep(), this.log, 'an add-on sweep failed'); }, this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Takes a new desired set: new and changed add-ons are worked on at once. */
  update(set: DesiredAddonSet): void {
    if (this.stopping.signal.aborted) return;
    for (const desired of set.addons) {
      const entry = this.entries.get(desired.name);
      if (!entry) {
        const created = newEntry<Refs>(desired);
        this.entries.set(desired.name, created);
        background(this.schedule(created), this.log, 'add-on work failed');
      } else if (entry.desired.generation !== desired.generation) {
        const from = entry.desired.spec.namespace;
        if (from !== desired.spec.namespace && !entry.desired.deleted) entry.movedFrom.add(from);
        entry.movedFrom.delete(desired.spec.namespace);
        entry.desired = desired;
        entry.digest = specDigest(desired.spec);
        entry.sweepDue = true;
        background(this.schedule(entry), this.log, 'add-on work failed');
      }
    }
    // The hub keeps deleted add-ons as markers, so a name leaves the set only
    // if the hub lost it; its release is left alone, as nobody asked to remove it.
    const names = new Set(set.addons.map((a) => a.name));
    for (const [name, entry] of this.entries) {
      if (names.has(name)) continue;
      clearTimeout(entry.timer);
      this.entries.delete(name);
    }
    this.countPhases();
  }

  /** Every add-on's current status. */
  statuses(): AddonStatus[] {
    return [...this.entries.values()].map((entry) => statusOf(entry, this.now()));
  }

  /** Calls `listener` with each status that changes; returns the unsubscribe. */
  subscribe(listener: (status: AddonStatus) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Queues a manual rollback or sync; throws AddonOperationError when it cannot be done. */
  request(input: AddonOperationRequest): { operationId: string } {
    const entry = this.entries.get(input.addon);
    checkOperation(entry, input);
    // A newer request replaces one that has not started yet.
    const operation: ManualOperation = {
      id: randomUUID(), action: input.action, revision: input.revision, requestedBy: input.requestedBy,
      allowOutsideWindow: input.allowOutsideWindow === true,
    };
    entry.manual = operation;
    this.log.info({ addon: input.addon, action: input.action, revision: input.revision, requestedBy: input.requestedBy }, 'manual add-on operation queued');
    background(this.schedule(entry), this.log, 'add-on work failed');
    return { operationId: operation.id };
  }

  /** Resolves once no add-on has work running or scheduled (tests and shutdown). */
  async settled(): Promise<void> {
    while ([...this.entries.values()].some((e) => e.running)) {
      await new Promise<void>((resolve) => { this.idle.add(resolve); });
    }
  }

  /** Stops sweeping; running reads are cancelled, running writes get `graceMs` to finish. */
  async stop(graceMs = 20_000): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.reads.close();
    this.writes.close();
    this.objectReads.close();
    const deadline = setTimeout(() => { this.stopping.abort(); }, graceMs);
    await this.settled();
    clearTimeout(deadline);
    this.stopping.abort();
  }

  /**
   * One sweep: every add-on still to be kept is worked on, its drift checked;
   * when all are done, the sweep is reported. A sweep still running when the
   * next is due is not doubled.
   */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.stopping.signal.aborted) return;
    this.sweeping = true;
    const started = this.now();
    const entries = [...this.entries.values()].filter((e) => !(e.desired.deleted && e.phase === 'Uninstalled'));
    for (const entry of entries) entry.sweepDue = true;
    let inspected = 0;
    const all = Promise.all(entries.map((entry) => this.schedule(entry).then(() => { inspected += 1; })));
    // A long helm operation (an upgrade waiting for readiness) must not hold the report back: the sweep is
    // reported after one interval at the latest, counting the add-ons inspected by then.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.sweepIntervalMs); })]);
    clearTimeout(timer);
    this.sweeping = false;
    if (this.stopped()) return;
    const report: AddonSweepReport = {
      lastSweepAt: new Date(this.now()).toISOString(), sweepDurationSeconds: (this.now() - started) / 1000,
      addonsInspected: inspected, intervalSeconds: this.sweepIntervalMs / 1000,
    };
    this.lastSweepReport = report;
    this.options.metrics.addonSweeps.inc();
    for (const listener of this.sweepListeners) listener(report);
  }

  /** The last sweep's report, if one has finished. */
  lastSweep(): AddonSweepReport | undefined {
    return this.lastSweepReport;
  }

  /** Calls `listener` after every sweep; returns the unsubscribe. */
  onSweep(listener: (report: AddonSweepReport) => void): () => void {
    this.sweepListeners.add(listener);
    return () => { this.sweepListeners.delete(listener); };
  }

  /** Works on `entry` now, or once more after the work running now; resolves when that work is done. */
  private schedule(entry: Entry<Refs>): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    if (entry.running) {
      entry.again = true;
      return entry.done;
    }
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.running = true;
    entry.done = (async () => {
      do {
        entry.again = false;
        try {
          await this.work(entry);
        } catch (error) {
          const failure = errorMessage(error);
          this.log.warn({ addon: entry.desired.name, code: failure.code, err: failure.message }, 'add-on work failed');
          // An add-on whose release cannot even be read (the agent's rights, an API server that is down) has failed, with the code.
          setPhase(entry, 'Failed', truncate(`could not read the release (${failure.code}): ${failure.message}`));
        }
        this.emit(entry);
      } while (this.runsAgain(entry));
      entry.running = false;
      this.countPhases();
      for (const resolve of this.idle) resolve();
      this.idle.clear();
    })();
    return entry.done;
  }

  private async work(entry: Entry<Refs>): Promise<void> {
    const { desired } = entry;
    if (desired.deleted) {
      await this.operations.uninstall(entry);
      return;
    }
    const manual = entry.manual;
    if (manual?.action === 'rollback') {
      entry.manual = undefined;
      await this.releases.read(entry);
      await this.operations.rollback(entry, manual);
      await this.refresh(entry);
      return;
    }
    const waiting = waitingFor(desired.spec.dependsOn.map((name) => this.dependencyState(name)));
    if (waiting !== undefined) {
      await this.releases.read(entry);
      setPhase(entry, 'Waiting', waiting);
      return;
    }
    await this.releases.read(entry);
    const stuck = await this.reconciler.unlockStuck(entry);
    if (stuck.unlocked) await this.releases.read(entry);
    if (stuck.dueInMs !== undefined) this.later(entry, stuck.dueInMs);
    const decision = decide(entry, this.now());
    if ('phase' in decision) setPhase(entry, decision.phase, decision.message);
    if ('retryInMs' in decision) this.later(entry, decision.retryInMs);
    const reason = 'trigger' in decision ? decision.trigger : undefined;
    const window = this.windowOf(entry);
    if (reason !== undefined) {
      const sync = entry.manual?.action === 'sync' ? entry.manual : undefined;
      entry.manual = undefined;
      if (window.open || sync?.allowOutsideWindow === true) await this.operations.apply(entry, reason, sync);
      else this.operations.cancel(entry, reason, sync, window.opensAt);
    }
    // The release's manifest, read once for the health, the namespace move and the drift check alike.
    let manifest = await this.refresh(entry);
    const currentManifest = async (): Promise<string> => (manifest ??= await this.releases.manifest(entry));
    if (entry.movedFrom.size > 0 && isReady(entry)) await this.retireMoved(entry, await currentManifest());
    if (entry.sweepDue || reason !== undefined) await this.checkDrift(entry, window.open, currentManifest);
    if (isReady(entry)) this.wakeDependents(entry.desired.name);
  }

  /** The add-on's sync window now (kept on the entry for its status); an open one when it has none. */
  private windowOf(entry: Entry<Refs>): { open: boolean; opensAt: number | undefined } {
    const { syncWindow } = entry.desired.spec;
    if (syncWindow === null) {
      entry.window = null;
      return { open: true, opensAt: undefined };
    }
    const state = windowState(syncWindow, new Date(this.now()));
    entry.window = { open: state.open, opensAt: state.opensAt?.toISOString() ?? null, closesAt: state.closesAt?.toISOString() ?? null };
    if (!state.open && state.opensAt) this.later(entry, state.opensAt.getTime() - this.now());
    return { open: state.open, opensAt: state.opensAt?.getTime() };
  }

  /** Removes what a namespace move left behind, once the release in the new namespace runs the desired spec. */
  private async retireMoved(entry: Entry<Refs>, newManifest: string): Promise<void> {
    const { name, spec } = entry.desired;
    for (const oldNamespace of [...entry.movedFrom]) {
      const retired = await this.writes.run(() => retireMovedRelease({
        kube: this.options.kube, resolver: this.options.resolver, helm: this.helm, name, oldNamespace, newManifest,
        helmTimeoutSeconds: this.helmTimeoutSeconds, timeoutMs: this.helmTimeoutSeconds * 1000 + 60_000, signal: this.stopping.signal,
      }));
      entry.movedFrom.delete(oldNamespace);
      this.log.info({ addon: name, from: oldNamespace, to: spec.namespace, retired }, 'add-on moved namespace: removed the release left in the old one');
    }
  }

  /** Steps 2 and 3 of the sweep on a deployed release: drift, self-heal, prune (see Reconciler). */
  private async checkDrift(entry: Entry<Refs>, windowOpen: boolean, manifest: () => Promise<string>): Promise<void> {
    entry.sweepDue = false;
    if (entry.release?.status !== 'deployed') {
      entry.drift = null;
      return;
    }
    const healDue = await this.reconciler.reconcileDrift(entry, await manifest(), windowOpen);
    if (healDue !== undefined) this.later(entry, healDue);
  }

  /** Reads the health of the release's objects; returns the manifest when it read it. */
  private async refresh(entry: Entry<Refs>): Promise<string | undefined> {
    const { manifest, recheckInMs } = await this.releases.refresh(entry);
    if (recheckInMs !== undefined) this.later(entry, recheckInMs);
    return manifest;
  }

  /** Works on the add-on again after `ms` (a retry, or another look at its health). */
  private later(entry: Entry<Refs>, ms: number): void {
    if (entry.timer !== undefined || this.stopping.signal.aborted) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      background(this.schedule(entry), this.log, 'add-on work failed');
    }, Math.min(ms, this.sweepIntervalMs));
    entry.timer.unref();
  }

  private dependencyState(name: string): DependencyState {
    const entry = this.entries.get(name);
    if (!entry || entry.desired.deleted) return { name, known: false, ready: false, phase: 'unknown' };
    return { name, known: true, ready: isReady(entry), phase: entry.phase };
  }

  private wakeDependents(name: string): void {
    for (const entry of this.entries.values()) {
      if (entry.phase === 'Waiting' && entry.desired.spec.dependsOn.includes(name)) background(this.schedule(entry), this.log, 'add-on work failed');
    }
  }

  /** Sends the status to the listeners if it changed (the health check time aside). */
  private emit(entry: Entry<Refs>): void {
    const status = statusOf(entry, this.now());
    const key = statusKey(status);
    if (key === entry.sent) return;
    entry.sent = key;
    for (const listener of this.listeners) listener(status);
  }

  private stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Whether work arrived for `entry` while it ran (and it is still wanted). */
  private runsAgain(entry: Entry<Refs>): boolean {
    return entry.again && !this.stopping.signal.aborted && this.entries.get(entry.desired.name) === entry;
  }

  private countPhases(): void {
    const counts = new Map<string, number>();
    for (const entry of this.entries.values()) counts.set(entry.phase, (counts.get(entry.phase) ?? 0) + 1);
    this.options.metrics.addonPhases.reset();
    for (const [phase, count] of counts) this.options.metrics.addonPhases.set({ phase }, count);
  }
}
