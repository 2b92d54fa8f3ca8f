// /api/status/connectivity: a live check, on request, of the way to the hub
// (DNS, TCP, TLS, the pin or CA the agent trusts it by) and of the API
// server, each step timed. Bounded so that it cannot be used to hammer the
// hub: one check runs at a time (callers during it share its result), each
// step has a timeout, and a result is served again for CONNECTIVITY_CACHE_MS.

/** Each step's bound. */
export const CONNECTIVITY_STEP_TIMEOUT_MS = 5_000;
/** A result younger than this is served again instead of a new check. */
export const CONNECTIVITY_CACHE_MS = 5_000;
/** Error texts are cut to this; they come from sockets and servers. */
const MAX_ERROR_CHARS = 500;

export type ConnectivityStepName = 'dns' | 'tcp' | 'tls' | 'pin' | 'apiServer';

/** One step: ok, failed (with `error`), or skipped (with `detail` saying why). */
export interface ConnectivityStep {
  step: ConnectivityStepName;
  status: 'ok' | 'failed' | 'skipped';
  /** Time the step took, 0 when skipped. */
  ms: number;
  detail?: string;
  error?: string;
  /** The pin step: the CA pin configured (`sha256:...`), when there is one. */
  expected?: string;
}

export interface ConnectivityReport {
  /** Every step that ran passed. */
  ok: boolean;
  /** When the check ran (ISO 8601). */
  checkedAt: string;
  /** Seconds since then: more than 0 when a cached result is served. */
  ageSeconds: number;
  hub: { host: string; port: number };
  steps: ConnectivityStep[];
}

/** The outcome a step's work returns: its detail, or `skipped` with why. */
export type StepOutcome = { detail: string; expected?: string } | { skipped: string };

/** An error as one bounded line for a report. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/g, ' ').slice(0, MAX_ERROR_CHARS);
}

/**
 * Runs `work` with a timeout and times it. A failure becomes a failed step
 * with its message; the timeout aborts `work`'s signal and fails the step
 * even if `work` ignores the signal.
 */
export async function timedStep(
  step: ConnectivityStepName, work: (signal: AbortSignal) => Promise<StepOutcome>,
  options: { timeoutMs?: number; now?: () => number; expected?: string } = {},
): Promise<ConnectivityStep> {
  const now = options.now ?? (() => performance.now());
  const timeoutMs = options.timeoutMs ?? CONNECTIVITY_STEP_TIMEOUT_MS;
  const controller = new AbortController();
  const started = now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  const expected = options.expected === undefined ? {} : { expected: options.expected };
  try {
    const outcome = await Promise.race([work(controller.signal), timeout]);
    const ms = Math.round(now() - started);
    if ('skipped' in outcome) return { step, status: 'skipped', ms: 0, detail: outcome.skipped, ...expected };
    return { step, status: 'ok', ms, detail: outcome.detail, ...expected, ...(outcome.expected === undefined ? {} : { expected: outcome.expected }) };
  } catch (error) {
    return { step, status: 'failed', ms: Math.round(now() - started), error: errorText(error), ...expected };
  } finally {
    clearTimeout(timer);
  }
}

/** A step not run because an earlier one failed. */
export function skippedStep(step: ConnectivityStepName, why: string): ConnectivityStep {
  return { step, status: 'skipped', ms: 0, detail: why };
}

/** The report of a check's steps: ok when none failed. */
export function connectivityReport(options: { hub: { host: string; port: number }; steps: ConnectivityStep[]; checkedAt: number }): ConnectivityReport {
  return {
    ok: options.steps.every((step) => step.status !== 'failed'),
    checkedAt: new Date(options.checkedAt).toISOString(),
    ageSeconds: 0,
    hub: options.hub,
    steps: options.steps,
  };
}

/** Runs checks one at a time and serves a recent result again; see the file comment. */
export class ConnectivityChecker {
  private readonly run: () => Promise<ConnectivityReport>;
  private readonly now: () => number;
  private readonly cacheMs: number;
  private running: Promise<ConnectivityReport> | undefined;
  private last: { report: ConnectivityReport; at: number } | undefined;

  constructor(options: { run: () => Promise<ConnectivityReport>; now?: () => number; cacheMs?: number }) {
    this.run = options.run;
    this.now = options.now ?? Date.now;
    this.cacheMs = options.cacheMs ?? CONNECTIVITY_CACHE_MS;
  }

  /** A fresh enough result, the running check's, or a new check's. */
  async check(): Promise<ConnectivityReport> {
    const last = this.last;
    if (last && this.now() - last.at < this.cacheMs) {
      return { ...last.report, ageSeconds: Math.round((this.now() - last.at) / 100) / 10 };
    }
    if (!this.running) {
      this.running = this.run().then((report) => {
        this.last = { report, at: this.now() };
        return report;
      }).finally(() => { this.running = undefined; });
    }
    return this.running;
  }
}
