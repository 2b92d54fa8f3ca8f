// The add-on sweeps agents report (AddonSweepEvent): the newest per cluster,
// kept in memory only, for the reconcile-lag metric and the cluster view.
// A restarted hub knows no sweeps until each agent's next one (at most one
// sweep interval later); nothing about them is worth a store write per sweep.
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

/** Sweeps count as stopped once the last one is older than this many sweep intervals. */
export const SWEEP_STOPPED_AFTER_INTERVALS = 3;
/** The longest sweep interval believed; a larger one would keep a stopped agent from ever looking stopped. */
export const MAX_SWEEP_INTERVAL_SECONDS = 7 * 86_400;
/** RFC 3339 with a `T`, seconds and a zone: what the agent writes (toISOString). */
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** A cluster's last sweep as the API shows it (ClusterView.addonSweep). */
export interface AddonSweepView extends AddonSweepReport {
  /** RFC 3339, when the hub received the report, by the hub's clock. */
  reportedAt: string;
  /** Seconds since the report arrived, to 0.1 s; rises until the next one. */
  lagSeconds: number;
  /** True once lagSeconds is over SWEEP_STOPPED_AFTER_INTERVALS × intervalSeconds. */
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

interface LatestSweep {
  cluster: string;
  report: AddonSweepReport;
  receivedAt: number;
}

export interface AddonSweepsOptions {
  now?: () => number;
}

/** The newest sweep report per cluster. */
export class AddonSweeps {
  readonly #latest = new Map<string, LatestSweep>();
  readonly #now: () => number;

  constructor(options: AddonSweepsOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Checks a report from the agent of `cluster` and keeps it as the newest.
   * Never throws: a bad one is logged on `log` (the cluster's) naming the
   * field, and dropped.
   */
  receive(cluster: { id: string; name: string }, value: unknown, log: Logger): void {
    let report: AddonSweepReport;
    try {
      report = parseAddonSweep(value);
    } catch (error) {
      const field = error instanceof AddonSweepError ? error.field : undefined;
      log.warn({ field, reason: (error as Error).message }, 'the agent sent a bad add-on sweep report; dropped');
      return;
    }
    this.#latest.set(cluster.id, { cluster: cluster.name, report, receivedAt: this.#now() });
  }

  /** Drops a deleted cluster's report, and with it its metric series. */
  forget(clusterId: string): void {
    this.#latest.delete(clusterId);
  }

  /** The cluster's last sweep with its lag now, or null when its agent never reported one to this hub. */
  view(clusterId: string): AddonSweepView | null {
    const latest = this.#latest.get(clusterId);
    if (latest === undefined) return null;
    const lag = this.#lagSeconds(latest);
    return {
      ...latest.report,
      reportedAt: new Date(latest.receivedAt).toISOString(),
      lagSeconds: Math.round(lag * 10) / 10,
      stopped: lag > SWEEP_STOPPED_AFTER_INTERVALS * latest.report.intervalSeconds,
    };
  }

  /** Every cluster's lag and last duration, now. */
  samples(): AddonSweepSample[] {
    return [...this.#latest.values()].map((latest) => ({
      cluster: latest.cluster, lagSeconds: this.#lagSeconds(latest), sweepDurationSeconds: latest.report.sweepDurationSeconds,
    }));
  }

  #lagSeconds(latest: LatestSweep): number {
    return Math.max(0, (this.#now() - latest.receivedAt) / 1000);
  }
}
