// The add-on sweeps agents report (AddonSweepEvent). The hub holding a
// cluster's link keeps the newest in memory, for the reconcile-lag metric
// and its own view, and stores one now and then (ClusterRecord.addonSweep) so
// that every replica's view, and a restarted hub, knows it too.
//
// A report comes every sweep interval from every agent (60 s by default, 5 s
// at least): storing each would be the hub's second hottest write for little.
// A report is stored when its cluster's link is new to this hub, when what it
// says changed (the interval, the add-ons inspected), and otherwise about
// once per SWEEP_STORE_EVERY_MS. A stored report is therefore up to that much
// older than the agent's last, which the stored view allows for before it
// calls sweeps stopped.
//
// The lag is measured on the hub's clock from when the report arrived, not
// from the agent's `lastSweepAt`, so a skewed agent clock does not distort
// it; it keeps rising while no report comes, whether the agent stopped
// sweeping or lost its link.
//
// Bounded by the store: only authenticated agents report, one entry per
// cluster, and a deleted cluster's entry is dropped with it.
import type { AddonSweepReport } from '../../link/addons.ts';
import { UplinkError } from '../../util/errors.ts';
import type { Logger } from '../../util/logger.ts';
import type { AddonSweepRecord } from '../store/store.ts';

/** Sweeps count as stopped once the last one is older than this many sweep intervals. */
export const SWEEP_STOPPED_AFTER_INTERVALS = 3;
/** The longest sweep interval believed; a larger one would keep a stopped agent from ever looking stopped. */
export const MAX_SWEEP_INTERVAL_SECONDS = 7 * 86_400;
/**
 * A cluster's reports are stored about this often while nothing in them but
 * the times changes: at the agent's default interval (60 s) that is every
 * report, at 5 s every sixth.
 */
export const SWEEP_STORE_EVERY_MS = 30_000;
/** RFC 3339 with a `T`, seconds and a zone: what the agent writes (toISOString). */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A cluster's last sweep as the API shows it (ClusterView.addonSweep). */
export interface AddonSweepView extends AddonSweepReport {
  /** RFC 3339, when the hub received the report, by the hub's clock. */
  reportedAt: string;
  /** Seconds since the report arrived, to 0.1 s; rises until the next one. */
  lagSeconds: number;
  /**
   * True once lagSeconds is over SWEEP_STOPPED_AFTER_INTERVALS × intervalSeconds,
   * plus, for a report read from the store, the time a report may wait to be stored.
   */
  stopped: boolean;
}

/** One cluster's sweep as the scrape-time gauges read it. */
export interface AddonSweepSample {
  /** The cluster's name (the metric label). */
  cluster: string;
  lagSeconds: number;
  sweepDurationSeconds: number;
}

/** A sweep report that is not what the wire type says; `field` names the bad one, e.g. `sweep.intervalSeconds`. */
export class AddonSweepError extends UplinkError {
  readonly field: string;

  constructor(field: string, message: string) {
    super('ADDON_SWEEP_INVALID', message);
    this.field = field;
  }
}

/** The report in `value` (the event's `sweep`), holding exactly the fields of AddonSweepReport. */
export function parseAddonSweep(value: unknown): AddonSweepReport {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AddonSweepError('sweep', 'sweep must be an object');
  const fields = value as Record<string, unknown>;
  const number = (key: keyof AddonSweepReport, ok: (n: number) => boolean, expected: string): number => {
    const n = fields[key];
    if (typeof n !== 'number' || !ok(n)) throw new AddonSweepError(`sweep.${key}`, `sweep.${key} must be ${expected}`);
    return n;
  };
  const at = fields.lastSweepAt;
  if (typeof at !== 'string' || !RFC_3339.test(at) || !Number.isFinite(Date.parse(at))) {
    throw new AddonSweepError('sweep.lastSweepAt', 'sweep.lastSweepAt must be an RFC 3339 time');
  }
  return {
    lastSweepAt: at,
    sweepDurationSeconds: number('sweepDurationSeconds', (n) => Number.isFinite(n) && n >= 0, 'a number of seconds'),
    addonsInspected: number('addonsInspected', (n) => Number.isSafeInteger(n) && n >= 0, 'a whole number of at least 0'),
    intervalSeconds: number('intervalSeconds', (n) => Number.isFinite(n) && n > 0 && n <= MAX_SWEEP_INTERVAL_SECONDS,
      `a number of seconds above 0 and at most ${MAX_SWEEP_INTERVAL_SECONDS}`),
  };
}

/** A stored report (the store's JSON text), or null when it does not read as one. */
export function parseStoredAddonSweep(json: string): AddonSweepRecord | null {
  try {
    const value = JSON.parse(json) as { reportedAt?: unknown };
    const report = parseAddonSweep(value);
    const at = value.reportedAt;
    if (typeof at !== 'string' || !RFC_3339.test(at) || !Number.isFinite(Date.parse(at))) return null;
    return { ...report, reportedAt: at };
  } catch {
    return null;
  }
}

/** How much older than the agent's last report a stored one may be, beyond one interval, in seconds. */
function storeSlackSeconds(intervalSeconds: number): number {
  return Math.max(0, SWEEP_STORE_EVERY_MS / 1000 - intervalSeconds / 2);
}

interface LatestSweep {
  cluster: string;
  report: AddonSweepReport;
  receivedAt: number;
  /** The report this hub last stored for the cluster, and when it arrived. */
  stored: { report: AddonSweepReport; receivedAt: number } | undefined;
  /** A store write for the cluster is in flight: at most one at a time. */
  storing: boolean;
}

export interface AddonSweepsOptions {
  now?: () => number;
}

/** The newest sweep report per cluster that this hub received, and which of them to store. */
export class AddonSweeps {
  readonly #latest = new Map<string, LatestSweep>();
  readonly #now: () => number;

  constructor(options: AddonSweepsOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks a report from the agent of `cluster` and keeps it as the newest.
   * Returns the record to store now, if it is due (the caller stores it and
   * calls storeSettled), else undefined. Never throws: a bad report is logged
   * on `log` (the cluster's) naming the field, and dropped.
   */
  receive(cluster: { id: string; name: string }, value: unknown, log: Logger): AddonSweepRecord | undefined {
    let report: AddonSweepReport;
    try {
      report = parseAddonSweep(value);
    } catch (error) {
      const field = error instanceof AddonSweepError ? error.field : undefined;
      log.warn({ field, reason: (error as Error).message }, 'the agent sent a bad add-on sweep report; dropped');
      return undefined;
    }
    const previous = this.#latest.get(cluster.id);
    const latest: LatestSweep = {
      cluster: cluster.name, report, receivedAt: this.#now(), stored: previous?.stored, storing: previous?.storing ?? false,
    };
    this.#latest.set(cluster.id, latest);
    if (!dueForStore(latest)) return undefined;
    latest.storing = true;
    return { ...report, reportedAt: new Date(latest.receivedAt).toISOString() };
  }

  /** The store write of `record` (from receive) ended; a failed one is tried again with the next report. */
  storeSettled(clusterId: string, record: AddonSweepRecord, ok: boolean): void {
    const latest = this.#latest.get(clusterId);
    if (latest === undefined) return;
    latest.storing = false;
    if (ok) latest.stored = { report: record, receivedAt: Date.parse(record.reportedAt) };
  }

  /** Drops a cluster's report (deleted, or its link is held by another replica now), and with it its metric series. */
  forget(clusterId: string): void {
    this.#latest.delete(clusterId);
  }

  /**
   * The cluster's last sweep with its lag now: the newer of the one this hub
   * received and the `stored` one (another replica's, or one from before this
   * hub started), or null when there is neither.
   */
  view(clusterId: string, stored: AddonSweepRecord | null = null): AddonSweepView | null {
    const latest = this.#latest.get(clusterId);
    const storedAt = stored === null ? Number.NaN : Date.parse(stored.reportedAt);
    if (latest !== undefined && !(storedAt > latest.receivedAt)) return this.#viewOf(latest.report, latest.receivedAt, 0);
    if (stored === null || !Number.isFinite(storedAt)) return null;
    // Its reportedAt is written over with the same time.
    return this.#viewOf(stored, storedAt, storeSlackSeconds(stored.intervalSeconds));
  }

  /** Every cluster's lag and last duration, now, but those `skip` names (counted by the replica holding their link). */
  samples(skip: (clusterId: string) => boolean = () => false): AddonSweepSample[] {
    return [...this.#latest].filter(([id]) => !skip(id)).map(([, latest]) => ({
      cluster: latest.cluster, lagSeconds: this.#lagSeconds(latest.receivedAt), sweepDurationSeconds: latest.report.sweepDurationSeconds,
    }));
  }

  #viewOf(report: AddonSweepReport, receivedAt: number, slackSeconds: number): AddonSweepView {
    const lag = this.#lagSeconds(receivedAt);
    return {
      ...report,
      reportedAt: new Date(receivedAt).toISOString(),
      lagSeconds: Math.round(lag * 10) / 10,
      stopped: lag > SWEEP_STOPPED_AFTER_INTERVALS * report.intervalSeconds + slackSeconds,
    };
  }

  #lagSeconds(receivedAt: number): number {
    return Math.max(0, (this.#now() - receivedAt) / 1000);
  }
}

/**
 * Whether the newest report should be stored: none stored by this hub yet
 * (its link is new here), what it says changed, or the stored one is about
 * SWEEP_STORE_EVERY_MS old (half an interval early, so the next report does
 * not overshoot by a whole one).
 */
function dueForStore(latest: LatestSweep): boolean {
  if (latest.storing) return false;
  const { stored, report } = latest;
  if (stored === undefined) return true;
  if (stored.report.intervalSeconds !== report.intervalSeconds || stored.report.addonsInspected !== report.addonsInspected) return true;
  return latest.receivedAt - stored.receivedAt >= SWEEP_STORE_EVERY_MS - report.intervalSeconds * 500;
}
