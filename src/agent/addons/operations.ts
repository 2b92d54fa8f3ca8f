// The helm operations of the add-on engine: install or upgrade, rollback and
// uninstall, each with its operation report, phases, metrics and the
// failure accounting its retries depend on. The engine decides when; this
// runs them, through the engine's write pool.
import type { AddonOperationReport } from '../../link/addons.ts';
import type { Logger } from '../../util/logger.ts';
import type { WorkerPool } from '../../util/worker-pool.ts';
import type { AgentMetrics } from '../metrics.ts';
import type { ResolveChart } from './engine.ts';
import {
  beginOperation, errorMessage, finishOperation, holdMessage, setPhase, truncate, type Entry, type ManualOperation, type OperationDetails,
} from './engine-entry.ts';
import type { HelmRunner } from './helm-runner.ts';
import { retryDelayMs, rollbackArgs, uninstallArgs, upgradeArgs } from './release-plan.ts';

/** The helm process gets this much beyond helm's own `--timeout` before it is killed. */
const PROCESS_GRACE_MS = 60_000;

/** What the operations need of the engine that runs them. */
export interface OperationsHost<Refs> {
  helm: HelmRunner;
  writes: WorkerPool;
  resolveChart: ResolveChart;
  /** The values helm gets: the spec's, decrypted when SOPS-encrypted. */
  prepareValues: (values: string, signal: AbortSignal) => Promise<string>;
  metrics: AgentMetrics;
  log: Logger;
  helmTimeoutSeconds: number;
  /** Aborts with the engine's stop. */
  signal: AbortSignal;
  now: () => number;
  readRelease(entry: Entry<Refs>): Promise<void>;
  /** Reports the entry's status now (an operation starting). */
  emit(entry: Entry<Refs>): void;
  /** Works on the entry again after `ms` (a retry). */
  later(entry: Entry<Refs>, ms: number): void;
}

export class AddonOperations<Refs> {
  private readonly host: OperationsHost<Refs>;

  constructor(host: OperationsHost<Refs>) {
    this.host = host;
  }

  private get helm(): HelmRunner {
    return this.host.helm;
  }

  private get writes(): WorkerPool {
    return this.host.writes;
  }

  private get helmTimeoutSeconds(): number {
    return this.host.helmTimeoutSeconds;
  }

  private get log(): Logger {
    return this.host.log;
  }

  private now(): number {
    return this.host.now();
  }

  async apply(entry: Entry<Refs>, trigger: AddonOperationReport['trigger'], manual: ManualOperation | undefined): Promise<void> {
    const { name, spec, generation } = entry.desired;
    const action = entry.release === null ? 'install' : 'upgrade';
    const operation = this.begin(entry, action, trigger, manual, null);
    setPhase(entry, action === 'install' ? 'Installing' : 'Upgrading', '');
    this.host.emit(entry);
    const digest = entry.digest;
    try {
      const signal = this.host.signal;
      const chart = await this.host.resolveChart(spec.source, spec.version, signal);
      // SOPS-encrypted values are decrypted here, for helm's stdin alone.
      const values = await this.host.prepareValues(spec.values, signal);
      const args = upgradeArgs({
        name, spec, chart: chart.chart, chartArgs: chart.args, digest, generation, helmTimeoutSeconds: this.helmTimeoutSeconds,
        takeOwnership: entry.movedFrom.size > 0,
      });
      await this.writes.run(() => this.helm.run(args, {
        input: values, signal, timeoutMs: this.helmTimeoutSeconds * 1000 + PROCESS_GRACE_MS,
      }));
      entry.hold = undefined;
      await this.succeeded(entry, operation);
    } catch (error) {
      const failure = errorMessage(error);
      entry.failures = entry.failedDigest === digest ? entry.failures + 1 : 1;
      entry.failedDigest = digest;
      const delay = retryDelayMs(spec.retry, entry.failures);
      entry.nextRetryAt = delay === undefined ? undefined : this.now() + delay;
      await this.host.readRelease(entry).catch(() => undefined);
      this.finish(entry, operation, 'failed', { code: failure.code, message: failure.message, rolledBack: failure.rolledBack });
      const retry = delay === undefined ? 'no more attempts' : `next attempt in ${Math.round(delay / 1000)} s`;
      setPhase(entry, 'Failed', truncate(`${failure.message}${failure.rolledBack ? ' (rolled back)' : ''}; ${retry}`));
      this.log.warn({ addon: name, action, code: failure.code, failures: entry.failures }, 'add-on operation failed');
      if (delay !== undefined) this.host.later(entry, delay);
    }
  }

  /** After a successful install, upgrade or rollback: the failure count starts again and the new revision is read. */
  private async succeeded(entry: Entry<Refs>, operation: AddonOperationReport): Promise<void> {
    entry.failures = 0;
    entry.failedDigest = undefined;
    entry.nextRetryAt = undefined;
    await this.host.readRelease(entry);
    this.finish(entry, operation, 'succeeded', { revision: entry.release?.revision ?? null });
    setPhase(entry, 'Deployed', '');
  }

  /**
   * Outside the sync window an install or upgrade is not run: it ends
   * cancelled with the message `outside_sync_window` (once per spec, not on
   * every look) and the engine comes back when the window opens.
   */
  cancel(entry: Entry<Refs>, trigger: AddonOperationReport['trigger'], manual: ManualOperation | undefined, opensAt: number | undefined): void {
    const opens = opensAt === undefined ? 'it does not open within a year' : `it opens at ${new Date(opensAt).toISOString()}`;
    setPhase(entry, entry.release === null ? 'Pending' : 'Deployed', `outside_sync_window: ${opens}`);
    const last = entry.lastOperation;
    if (manual === undefined && last?.result === 'cancelled' && entry.cancelledDigest === entry.digest) return;
    entry.cancelledDigest = entry.digest;
    const action = entry.release === null ? 'install' : 'upgrade';
    const operation = beginOperation(entry, { action, trigger, manual, targetRevision: null }, this.now());
    finishOperation(entry, operation, 'cancelled', { message: 'outside_sync_window' }, this.now());
    this.host.metrics.addonOperations.inc({ action, result: 'cancelled' });
    this.log.info({ addon: entry.desired.name, action, trigger, opensAt: opensAt === undefined ? null : new Date(opensAt).toISOString() }, 'add-on change cancelled: outside its sync window');
  }

  async rollback(entry: Entry<Refs>, manual: ManualOperation): Promise<void> {
    const { name, spec } = entry.desired;
    const revision = manual.revision ?? 0;
    const operation = this.begin(entry, 'rollback', 'manual', manual, revision);
    setPhase(entry, 'RollingBack', `rolling back to revision ${revision}`);
    this.host.emit(entry);
    try {
      await this.writes.run(() => this.helm.run(rollbackArgs(name, spec, revision, this.helmTimeoutSeconds), {
        signal: this.host.signal, timeoutMs: this.helmTimeoutSeconds * 1000 + PROCESS_GRACE_MS,
      }));
      const hold = { digest: entry.digest, revision, requestedBy: manual.requestedBy };
      entry.hold = hold;
      await this.succeeded(entry, operation);
      entry.message = holdMessage(entry, hold);
    } catch (error) {
      const failure = errorMessage(error);
      await this.host.readRelease(entry).catch(() => undefined);
      this.finish(entry, operation, 'failed', { code: failure.code, message: failure.message, rolledBack: false });
      setPhase(entry, 'Failed', truncate(failure.message));
    }
  }

  async uninstall(entry: Entry<Refs>): Promise<void> {
    const { name, spec } = entry.desired;
    await this.host.readRelease(entry);
    if (entry.release === null) {
      setPhase(entry, 'Uninstalled', '');
      entry.health = null;
      entry.history = [];
      return;
    }
    if (entry.failedDigest === 'uninstall') {
      const due = (entry.nextRetryAt ?? Infinity) - this.now();
      if (due > 0) {
        if (Number.isFinite(due)) this.host.later(entry, due);
        return;
      }
    }
    const operation = this.begin(entry, 'uninstall', 'desired', undefined, null);
    setPhase(entry, 'Uninstalling', '');
    this.host.emit(entry);
    try {
      await this.writes.run(() => this.helm.run(uninstallArgs(name, entry.release?.namespace ?? spec.namespace, this.helmTimeoutSeconds), {
        signal: this.host.signal, timeoutMs: this.helmTimeoutSeconds * 1000 + PROCESS_GRACE_MS,
      }));
      entry.release = null;
      entry.releaseDigest = undefined;
      entry.health = null;
      entry.history = [];
      entry.refs = undefined;
      entry.failures = 0;
      entry.failedDigest = undefined;
      this.finish(entry, operation, 'succeeded', {});
      setPhase(entry, 'Uninstalled', '');
    } catch (error) {
      const failure = errorMessage(error);
      entry.failures = entry.failedDigest === 'uninstall' ? entry.failures + 1 : 1;
      entry.failedDigest = 'uninstall';
      const delay = retryDelayMs(spec.retry, entry.failures);
      entry.nextRetryAt = delay === undefined ? undefined : this.now() + delay;
      this.finish(entry, operation, 'failed', { code: failure.code, message: failure.message, rolledBack: false });
      setPhase(entry, 'Failed', truncate(failure.message));
      if (delay !== undefined) this.host.later(entry, delay);
    }
  }

  private begin(
    entry: Entry<Refs>, action: AddonOperationReport['action'], trigger: AddonOperationReport['trigger'],
    manual: ManualOperation | undefined, targetRevision: number | null,
  ): AddonOperationReport {
    const operation = beginOperation(entry, { action, trigger, manual, targetRevision }, this.now());
    this.log.info({ addon: entry.desired.name, action, trigger, operation: operation.id, generation: entry.desired.generation }, 'add-on operation started');
    return operation;
  }

  private finish(entry: Entry<Refs>, operation: AddonOperationReport, result: 'succeeded' | 'failed', details: OperationDetails): void {
    const { durationSeconds, revision, code } = finishOperation(entry, operation, result, details, this.now());
    this.host.metrics.addonOperations.inc({ action: operation.action, result });
    this.host.metrics.addonOperationSeconds.observe({ action: operation.action }, durationSeconds);
    this.log.info({ addon: entry.desired.name, action: operation.action, result, seconds: durationSeconds, code, revision }, 'add-on operation finished');
  }
}
