// The desired add-ons on the wire: what the hub tells an agent its cluster
// should run. The hub pushes the cluster's whole set (deleted markers
// included) when the agent links and after every change; the agent keeps
// the newest set it was given in its own namespace, so it still has it while
// the hub is unreachable and after a restart.
//
// The spec type and its parser live in src/domain, shared by both ends: the
// hub checks a spec when it is written, the agent again when it is pushed,
// with the same code, so the two ends cannot drift.
import type { AddonSpec } from '../domain/addon-spec/spec.ts';

/** Paths on the agent for desired add-ons. */
export const ADDON_PATHS = {
  /**
   * PUT DesiredAddonSet: replace the set the agent holds. Answers:
   * 204 once the set is durable (also for a set of the generation it holds);
   * 400 `{error: {code: 'DESIRED_ADDONS_INVALID', message}}` naming the bad field;
   * 413 when the body is over MAX_DESIRED_ADDONS_BYTES;
   * 409 `{error: {code: 'DESIRED_ADDONS_STALE', …}, generation}` when the
   * agent holds a newer set (the pushed one is ignored);
   * 500 when the set could not be stored (the hub retries).
   *
   * GET: the DesiredAddonSet the agent holds (200), or 404 when it holds none.
   */
  desired: '/v1/addons/desired',
  /**
   * POST AddonOperationRequest: run a manual operation on one add-on (a
   * rollback to a revision, or a sync that re-applies the desired spec now).
   * Answers 202 `{operationId}` once queued; the outcome arrives as the
   * add-on's status (`lastOperation.id`) on the events stream. 400
   * `{error: {code: 'ADDON_OPERATION_INVALID', message}}` for a bad body, 404
   * `ADDON_NOT_FOUND` for an add-on the agent does not hold, 409
   * `ADDON_DELETED` for one that is being uninstalled, 409
   * `REVISION_NOT_FOUND` for a rollback to a revision the release lacks.
   */
  operations: '/v1/addons/operations',
} as const;

/** Largest desired set the agent reads; 500 add-ons with sizeable values fit. */
export const MAX_DESIRED_ADDONS_BYTES = 16 * 1024 * 1024;

/** The spec as the hub stores it, every default filled in. */
export type DesiredAddonSpec = AddonSpec;

/** One add-on of the set: its spec and where it is in its history. */
export interface DesiredAddon {
  /** The add-on's name, which is the Helm release name. */
  name: string;
  /** The add-on's own generation on the hub: 1 on creation, +1 per change, never back. */
  generation: number;
  /** True once deleted on the hub: the release is to be uninstalled. */
  deleted: boolean;
  spec: DesiredAddonSpec;
}

/**
 * A cluster's whole desired set. `generation` is the sum of the add-ons'
 * generations: every change (spec, delete, re-create) adds one to exactly one
 * add-on and the hub keeps deleted rows, so the sum goes up on every change
 * and never back, needs no counter of its own and survives hub restarts. (If
 * deleted rows are ever purged, the hub needs a per-cluster counter instead.)
 */
export interface DesiredAddonSet {
  generation: number;
  /** By name. */
  addons: DesiredAddon[];
}

/** The set-generation of a list of add-ons (see DesiredAddonSet). */
export function desiredSetGeneration(addons: readonly Pick<DesiredAddon, 'generation'>[]): number {
  return addons.reduce((sum, addon) => sum + addon.generation, 0);
}

/** A manual operation the hub asks for (ADDON_PATHS.operations). */
export interface AddonOperationRequest {
  addon: string;
  action: 'rollback' | 'sync';
  /** For a rollback: the revision to return to. */
  revision?: number;
  /** For a sync: run even outside the add-on's sync window. */
  allowOutsideWindow?: boolean;
  /** Who asked, for the agent's log and the status (a user name, never a token). */
  requestedBy: string;
}

/** Answer of ADDON_PATHS.operations: the id the add-on's `lastOperation` will carry. */
export interface AddonOperationAccepted {
  operationId: string;
}

/**
 * Where the agent is with an add-on:
 * - Pending: known, not acted on yet;
 * - Waiting: held back until the add-ons it depends on are deployed (the message names them);
 * - Installing, Upgrading, RollingBack, Uninstalling: a helm operation is running;
 * - Deployed: the release is deployed (see `inSync` for whether it is the desired spec);
 * - Failed: the last operation failed (message, lastOperation; `nextRetryAt` if it will be retried);
 * - Uninstalled: a deleted add-on whose release is gone.
 */
export type AddonPhase =
  | 'Pending' | 'Waiting' | 'Installing' | 'Upgrading' | 'RollingBack' | 'Uninstalling' | 'Deployed' | 'Failed' | 'Uninstalled';

/** Per-object and release health, as docs/addons.md ("Status") defines it. */
export type AddonHealthStatus = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';

/** The Helm release as it stands on the cluster. */
export interface AddonRelease {
  namespace: string;
  revision: number;
  /** Helm's status: deployed, failed, pending-upgrade, … */
  status: string;
  /** Chart name and version, like `webapp` and `0.1.0`. */
  chart: string;
  chartVersion: string;
  appVersion: string;
  /** RFC 3339, when this revision was written. */
  updated: string;
  /** Helm's description of the revision (`Install complete`, `Rollback to 1`, …). */
  description: string;
}

/** One revision of `helm history`. */
export interface AddonRevision {
  revision: number;
  updated: string;
  status: string;
  chart: string;
  appVersion: string;
  description: string;
}

/** The outcome of the add-on's last helm operation. */
export interface AddonOperationReport {
  /** Unique per operation; manual operations return it from ADDON_PATHS.operations. */
  id: string;
  /** `heal` re-applies drifted objects (self-heal); `prune` deletes orphans. */
  action: 'install' | 'upgrade' | 'rollback' | 'uninstall' | 'heal' | 'prune';
  /** What started it: a desired-state change, a retry, a manual request, or the sweep (drift, orphans). */
  trigger: 'desired' | 'retry' | 'manual' | 'sweep';
  requestedBy: string | null;
  /** For a rollback, the revision returned to. */
  targetRevision: number | null;
  startedAt: string;
  /** Null while running. */
  finishedAt: string | null;
  durationSeconds: number | null;
  /** `cancelled`: not run, e.g. outside the add-on's sync window (message `outside_sync_window`). */
  result: 'running' | 'succeeded' | 'failed' | 'cancelled';
  /** A stable failure code (helm-errors.ts HelmFailureCode, or the chart source's) when failed. */
  code: string | null;
  /** One sentence an operator can act on; never values or Secret data. */
  message: string;
  /** A failed upgrade was rolled back by helm (`--rollback-on-failure`). */
  rolledBack: boolean;
  /** The release revision the operation produced, when it produced one. */
  revision: number | null;
}

export interface AddonObjectHealth {
  kind: string;
  name: string;
  namespace?: string;
  status: AddonHealthStatus;
  message: string;
}

export interface AddonHealth {
  status: AddonHealthStatus;
  message: string;
  /** Whether it counts as healthy under the add-on's `strictHealthCheck`. */
  healthy: boolean;
  /** The release's objects, worst first, at most MAX_STATUS_OBJECTS. */
  objects: AddonObjectHealth[];
  /** How many objects the release has in all. */
  objectCount: number;
  checkedAt: string;
}

/** What the agent reports about one add-on. */
export interface AddonStatus {
  name: string;
  /** The desired generation this status is about. */
  generation: number;
  phase: AddonPhase;
  /** One sentence about the phase (why it waits, what failed). */
  message: string;
  /** True when the release runs the desired spec of `generation`. */
  inSync: boolean;
  /** Null when there is no release (not installed yet, or uninstalled). */
  release: AddonRelease | null;
  health: AddonHealth | null;
  lastOperation: AddonOperationReport | null;
  /** Newest last, at most MAX_STATUS_REVISIONS. */
  history: AddonRevision[];
  /** Live objects against the release's manifest (null before the first check, or without a deployed release). */
  drift: AddonDrift | null;
  /** The add-on's sync window now (null: it has none, changes may be applied at any time). */
  syncWindow: AddonWindowState | null;
  /** Failed attempts of the current spec, and when the next is due (null: none will be made). */
  failures: number;
  nextRetryAt: string | null;
  /** RFC 3339, when the agent wrote this status. */
  observedAt: string;
}

export type AddonDriftState = 'InSync' | 'Drifted' | 'Missing' | 'Unknown';

/** One object of the release that is not as rendered. */
export interface AddonObjectDrift {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  state: AddonDriftState;
  /** JSON pointers of the fields that differ, at most 20; never values. */
  paths: string[];
  message: string;
}

export interface AddonDrift {
  /** Drifted when an object differs or is missing; Unknown when one could not be compared (a failed dry run is never in sync). */
  state: 'InSync' | 'Drifted' | 'Unknown';
  /** The objects not in sync, worst first, at most MAX_STATUS_OBJECTS. */
  objects: AddonObjectDrift[];
  /** Objects compared. */
  inspected: number;
  checkedAt: string;
  /** Orphans pruned by the last sweep, when auto-prune is on (kind/namespace/name). */
  pruned: string[];
}

export interface AddonWindowState {
  open: boolean;
  opensAt: string | null;
  closesAt: string | null;
}

/** Bounds that keep one status line small (the events stream caps lines at 1 MiB). */
export const MAX_STATUS_OBJECTS = 50;
export const MAX_STATUS_REVISIONS = 20;
export const MAX_STATUS_MESSAGE_CHARS = 500;

/**
 * Sent by the agent on the events stream: each add-on's status when the
 * stream opens, then one line whenever an add-on's status changes.
 */
export interface AddonStatusEvent {
  type: 'addonStatus';
  status: AddonStatus;
}

/** What one sweep of the agent's add-on engine did (AddonSweepEvent). */
export interface AddonSweepReport {
  /** RFC 3339, when the sweep finished, by the agent's clock. */
  lastSweepAt: string;
  /** How long the sweep took. */
  sweepDurationSeconds: number;
  /** Add-ons the sweep looked at (0 for a cluster without add-ons: the sweep still ran). */
  addonsInspected: number;
  /** The agent's sweep interval, so the hub can tell when sweeps have stopped. */
  intervalSeconds: number;
}

/**
 * Sent by the agent on the events stream after each sweep of its add-ons,
 * also one that found nothing to do, so the hub can measure the reconcile
 * lag and see when sweeps stop. The hub keeps the newest per cluster.
 */
export interface AddonSweepEvent {
  type: 'addonSweep';
  sweep: AddonSweepReport;
}
