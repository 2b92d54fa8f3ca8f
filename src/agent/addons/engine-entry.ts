// What the add-on engine keeps per add-on, and the pure decisions on it:
// whether to apply the desired spec now, whether the add-on is ready for its
// dependents, and the status it reports.
import { randomUUID } from 'node:crypto';
import type {
  AddonDrift, AddonHealth, AddonOperationReport, AddonPhase, AddonWindowState, AddonRelease, AddonRevision, AddonStatus, DesiredAddon,
} from '../../link/addons.ts';
import { MAX_STATUS_MESSAGE_CHARS } from '../../link/addons.ts';
import { HelmError, type HelmReleaseMetadata } from './helm-runner.ts';
import { retryDelayMs, specDigest } from './release-plan.ts';
import { CodedError } from '../../domain/error-codes.ts';

/** A manual operation waiting for its add-on's turn. */
export interface ManualOperation {
  id: string;
  action: 'rollback' | 'sync';
  revision: number | undefined;
  requestedBy: string;
  /** A sync allowed to run outside the add-on's sync window. */
  allowOutsideWindow?: boolean;
}

export interface Entry<Refs> {
  desired: DesiredAddon;
  /** The last drift check, and the window state at the last look. */
  drift: AddonDrift | null;
  window: AddonWindowState | null;
  /** Self-heals since the add-on was last found in sync, and when the last ran. */
  heals: number;
  lastHealAt: number;
  /** The sweep asked for a drift check on the next run. */
  sweepDue: boolean;
  /** Kinds the release has rendered in any revision seen, by `apiVersion/kind`: where pruning looks for orphans. */
  kinds: Map<string, { apiVersion: string; kind: string }>;
  /** Namespaces the add-on moved away from, whose release is still to be removed. */
  movedFrom: Set<string>;
  /** The spec whose change was last cancelled outside the sync window. */
  cancelledDigest: string | undefined;
  digest: string;
  phase: AddonPhase;
  message: string;
  release: AddonRelease | null;
  /** The digest label of the current revision (undefined: written by someone else, or not read yet). */
  releaseDigest: string | undefined;
  health: AddonHealth | null;
  history: AddonRevision[];
  lastOperation: AddonOperationReport | null;
  /** A manual rollback holds this digest's spec back at the revision rolled back to. */
  hold: { digest: string; revision: number; requestedBy: string } | undefined;
  failures: number;
  failedDigest: string | undefined;
  nextRetryAt: number | undefined;
  manual: ManualOperation | undefined;
  /** The objects of the release revision they were read from. */
  refs: { revision: number; refs: Refs } | undefined;
  lastOperationAt: number;
  running: boolean;
  again: boolean;
  /** Settles when the work running now is done. */
  done: Promise<void>;
  timer: NodeJS.Timeout | undefined;
  /** The status last sent, without observedAt, to send only changes. */
  sent: string;
}

/** A manual operation the engine refused; `status` is the HTTP status to answer with. */
export class AddonOperationError extends CodedError {}

export function truncate(text: string): string {
  return text.length > MAX_STATUS_MESSAGE_CHARS ? `${text.slice(0, MAX_STATUS_MESSAGE_CHARS - 1)}…` : text;
}

export function errorMessage(error: unknown): { code: string; message: string; rolledBack: boolean } {
  if (error instanceof HelmError) return { code: error.reason, message: error.message, rolledBack: error.rolledBack };
  if (error instanceof Error && 'reason' in error && typeof error.reason === 'string') {
    return { code: error.reason, message: error.message, rolledBack: false };
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return { code: error.code, message: error.message, rolledBack: false };
  return { code: 'UNKNOWN', message: error instanceof Error ? error.message : String(error), rolledBack: false };
}

export function isReleaseNotFound(error: unknown): boolean {
  return error instanceof HelmError && error.reason === 'RELEASE_NOT_FOUND';
}

export function toRelease(meta: HelmReleaseMetadata, description: string): AddonRelease {
  return {
    namespace: meta.namespace, revision: meta.revision, status: meta.status, chart: meta.chart, chartVersion: meta.chartVersion,
    appVersion: meta.appVersion, updated: meta.deployedAt, description,
  };
}

export function newEntry<Refs>(desired: DesiredAddon): Entry<Refs> {
  return {
    desired, drift: null, window: null, heals: 0, lastHealAt: 0, sweepDue: true, kinds: new Map(), movedFrom: new Set(), cancelledDigest: undefined, digest: specDigest(desired.spec), phase: 'Pending', message: '', release: null, releaseDigest: undefined,
    health: null, history: [], lastOperation: null, hold: undefined, failures: 0, failedDigest: undefined,
    nextRetryAt: undefined, manual: undefined, refs: undefined, lastOperationAt: 0, running: false, again: false, done: Promise.resolve(),
    timer: undefined, sent: '',
  };
}

/**
 * What to do about a live add-on whose release was just read: apply the
 * desired spec (and why), or leave the release as it is and report a phase,
 * perhaps with a retry due later.
 */
export type Decision =
  | { trigger: AddonOperationReport['trigger'] }
  | { phase: AddonPhase; message: string }
  | { retryInMs: number };

/** Why a release held by a manual rollback does not run the desired spec. */
export function holdMessage<Refs>(entry: Entry<Refs>, hold: NonNullable<Entry<Refs>['hold']>): string {
  return `rolled back to revision ${hold.revision} by ${hold.requestedBy}; the desired spec (generation ${entry.desired.generation}) waits until the add-on changes or is synced`;
}

export function decide<Refs>(entry: Entry<Refs>, now: number): Decision {
  const { spec } = entry.desired;
  if (entry.manual?.action === 'sync') return { trigger: 'manual' };
  if (entry.hold?.digest === entry.digest) return { phase: 'Deployed', message: holdMessage(entry, entry.hold) };
  entry.hold = undefined;
  if (entry.release?.status === 'deployed' && entry.releaseDigest === entry.digest) {
    if (entry.failedDigest !== entry.digest) entry.failures = 0;
    return { phase: 'Deployed', message: '' };
  }
  if (entry.release?.status.startsWith('pending-') === true) {
    return { phase: 'Failed', message: `the release is ${entry.release.status}: another helm operation is running on it or was interrupted` };
  }
  if (!spec.syncPolicy.automated) {
    return { phase: entry.release ? 'Deployed' : 'Pending', message: 'automated sync is off: the desired spec is applied by a manual sync' };
  }
  if (entry.failedDigest !== entry.digest) return { trigger: 'desired' };
  // This spec failed before: retry under its policy.
  if (retryDelayMs(spec.retry, entry.failures) === undefined) {
    entry.nextRetryAt = undefined;
    const last = entry.lastOperation?.message ?? 'the last attempt failed';
    return { phase: 'Failed', message: truncate(`${last}; gave up after ${entry.failures} failed attempts (change the add-on or sync it to try again)`) };
  }
  const due = (entry.nextRetryAt ?? 0) - now;
  return due > 0 ? { retryInMs: due } : { trigger: 'retry' };
}

/** Deployed with its desired spec (or held by a manual rollback): its dependents may go ahead. */
export function isReady<Refs>(entry: Entry<Refs>): boolean {
  if (entry.desired.deleted || entry.phase !== 'Deployed' || entry.release?.status !== 'deployed') return false;
  return entry.releaseDigest === entry.digest || entry.hold?.digest === entry.digest;
}

export function statusOf<Refs>(entry: Entry<Refs>, now: number): AddonStatus {
  return {
    name: entry.desired.name,
    generation: entry.desired.generation,
    phase: entry.phase,
    message: entry.message,
    inSync: entry.release?.status === 'deployed' && entry.releaseDigest === entry.digest,
    release: entry.release,
    health: entry.health,
    lastOperation: entry.lastOperation,
    history: entry.history,
    drift: entry.drift,
    syncWindow: entry.window,
    failures: entry.failedDigest === undefined ? 0 : entry.failures,
    nextRetryAt: entry.phase === 'Failed' && entry.nextRetryAt !== undefined ? new Date(entry.nextRetryAt).toISOString() : null,
    observedAt: new Date(now).toISOString(),
  };
}

/** The status without the times that change on every look, to send only real changes. */
export function statusKey(status: AddonStatus): string {
  const { health } = status;
  return JSON.stringify({ ...status, observedAt: undefined, health: health === null ? null : { ...health, checkedAt: undefined } });
}

/** Starts an operation's report (result `running`) as the add-on's last operation. */
export function beginOperation<Refs>(
  entry: Entry<Refs>,
  start: { action: AddonOperationReport['action']; trigger: AddonOperationReport['trigger']; manual: ManualOperation | undefined; targetRevision: number | null },
  now: number,
): AddonOperationReport {
  entry.lastOperationAt = now;
  entry.lastOperation = {
    id: start.manual?.id ?? randomUUID(), action: start.action, trigger: start.trigger, requestedBy: start.manual?.requestedBy ?? null,
    targetRevision: start.targetRevision, startedAt: new Date(now).toISOString(), finishedAt: null, durationSeconds: null,
    result: 'running', code: null, message: '', rolledBack: false, revision: null,
  };
  return entry.lastOperation;
}

export interface OperationDetails {
  revision?: number | null;
  code?: string;
  message?: string;
  rolledBack?: boolean;
}

/** Completes the report begun by beginOperation and returns it. */
export function finishOperation<Refs>(
  entry: Entry<Refs>, operation: AddonOperationReport, result: 'succeeded' | 'failed' | 'cancelled', details: OperationDetails, now: number,
): AddonOperationReport & { durationSeconds: number } {
  const durationSeconds = Math.round(now - Date.parse(operation.startedAt)) / 1000;
  const finished = {
    ...operation, result, finishedAt: new Date(now).toISOString(), durationSeconds,
    code: details.code ?? null, message: truncate(details.message ?? ''), rolledBack: details.rolledBack ?? false,
    revision: details.revision ?? entry.release?.revision ?? null,
  };
  entry.lastOperation = finished;
  entry.lastOperationAt = now;
  return finished;
}

/** Throws AddonOperationError when a manual operation cannot be done on `entry`; narrows it to an entry otherwise. */
export function checkOperation<Refs>(
  entry: Entry<Refs> | undefined, input: { addon: string; action: 'rollback' | 'sync'; revision?: number },
): asserts entry is Entry<Refs> {
  if (!entry) throw new AddonOperationError('ADDON_NOT_FOUND', `the agent holds no add-on '${input.addon}'`);
  if (entry.desired.deleted) throw new AddonOperationError('ADDON_DELETED', `add-on '${input.addon}' is deleted and being uninstalled`);
  if (input.action !== 'rollback') return;
  if (entry.release === null) throw new AddonOperationError('REVISION_NOT_FOUND', `add-on '${input.addon}' has no release to roll back`);
  if (!entry.history.some((r) => r.revision === input.revision)) {
    const known = entry.history.map((r) => r.revision).join(', ');
    throw new AddonOperationError('REVISION_NOT_FOUND', `release '${input.addon}' has no revision ${String(input.revision)} (it keeps ${known})`);
  }
}

export function setPhase<Refs>(entry: Entry<Refs>, phase: AddonPhase, message: string): void {
  entry.phase = phase;
  entry.message = message;
}
