// Leader election among the agent's replicas on one Lease, with client-go's
// algorithm (k8s.io/client-go/tools/leaderelection): a candidate takes the
// Lease when nobody holds it or when its record has not changed for the
// record's leaseDurationSeconds since this candidate first saw it, measured
// on its own monotonic clock, so no two clocks need agree; every write
// carries the resourceVersion it read, so of two racing writers one gets 409.
//
// Where it is stricter than client-go: the leader's renew deadline counts
// from the start of its last successful renewal (a time before any other
// candidate can have seen that write), and a timer reports the loss at that
// deadline even while a request hangs; so with renew deadline < lease
// duration the leader has stopped before anyone may take over. A 409 on a
// renewal ends leadership at once rather than at the deadline. Standbys
// retry with a small jitter (client-go's factor is 1.2) so that a released
// Lease changes hands within about one retry period.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../util/settings.ts';
import type { Logger } from '../util/logger.ts';
import { KubeApiError } from './kube.ts';
import { microTime, type LeaseApi, type LeaseRecord, type LeaseSnapshot } from './lease-api.ts';
import type { AgentMetrics } from './metrics.ts';

/** leader: holds the Lease and may work; standby: another holds it; unknown: the API server has not answered. */
export type LeaderState = 'leader' | 'standby' | 'unknown';
/** Why leadership ended: the renew deadline passed, a renewal met 409, or release()/stop(). */
export type LeadershipLoss = 'deadline' | 'conflict' | 'stopped';

export interface LeaderElectionTimings {
  /** How long a holder's claim lasts after the last change a candidate observed. */
  leaseDurationMs: number;
  /** How long a leader keeps leading without a successful renewal. */
  renewDeadlineMs: number;
  /** Between two attempts to acquire or renew. */
  retryPeriodMs: number;
}

/** client-go's defaults. */
export const DEFAULT_LEADER_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
/** A standby waits retryPeriod × [1, 1 + this) between attempts, so candidates do not move in step. */
export const STANDBY_RETRY_JITTER = 0.2;
const MAX_INT32 = 2 ** 31 - 1;

/** Throws ConfigError unless retry < renew deadline < lease duration, which the safety argument needs. */
export function checkLeaderTimings(timings: LeaderElectionTimings): void {
  if (!(timings.renewDeadlineMs < timings.leaseDurationMs)) {
    throw new ConfigError(`the renew deadline (${timings.renewDeadlineMs / 1000} s) must be shorter than the lease duration (${timings.leaseDurationMs / 1000} s)`);
  }
  if (!(timings.retryPeriodMs < timings.renewDeadlineMs)) {
    throw new ConfigError(`the retry period (${timings.retryPeriodMs / 1000} s) must be shorter than the renew deadline (${timings.renewDeadlineMs / 1000} s)`);
  }
}

/** This process's identity in the Lease: the pod name (POD_NAME, else the host name) and a random suffix, unique per start. */
export function leaderIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${leaderPod(env)}_${randomBytes(4).toString('hex')}`;
}

/** The pod name this process leads as: POD_NAME, else the host name, made a DNS-1123 subdomain (the hub checks it). */
export function leaderPod(env: NodeJS.ProcessEnv = process.env): string {
  const base = ((env.POD_NAME ?? '').trim() || hostname()).toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
  return base.replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '') || 'agent';
}

export type LeaderMetrics = Pick<AgentMetrics, 'leader' | 'leaderTransitions' | 'leaseRenewFailures'>;

export interface LeaderElectorOptions {
  api: LeaseApi;
  /** The Lease's name for logs, e.g. `uplink-system/uplink-agent`. */
  lease: string;
  identity: string;
  timings: LeaderElectionTimings;
  log: Logger;
  metrics?: LeaderMetrics;
  /** Called once this elector holds the Lease; must not throw. */
  onStartedLeading: () => void;
  /** Called the moment leadership ends, before the Lease could pass to another; must not throw. */
  onStoppedLeading: (reason: LeadershipLoss) => void;
  /** A monotonic clock in ms (default performance.now); tests pass the mocked Date.now. */
  now?: () => number;
  /** In [0, 1); for the standby jitter. */
  random?: () => number;
}

/** What this elector last saw in the Lease, and when (on its own clock). */
interface Observation {
  record: LeaseRecord;
  key: string;
  at: number;
}

function recordKey(record: LeaseRecord): string {
  return JSON.stringify([record.holderIdentity, record.leaseDurationSeconds, record.acquireTime, record.renewTime, record.leaseTransitions]);
}

/** Runs the election loop for one candidate; see the file comment for the algorithm. */
export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly now: () => number;
  private readonly random: () => number;
  private stopped = true;
  private leading = false;
  /** Whether the last attempt got an answer from the API server (while not leading). */
  private answered = false;
  private observed: Observation | undefined;
  /** The Lease as last read or written, whose resourceVersion the next write carries. */
  private snapshot: LeaseSnapshot | undefined;
  private deadlineAt = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private lastFailure = '';
  /** When this elector last became the leader (ISO 8601, wall clock). */
  private leadingSince = '';

  constructor(options: LeaderElectorOptions) {
    checkLeaderTimings(options.timings);
    // Whole milliseconds: request timeouts (AbortSignal.timeout) refuse fractions, and 1.1 s × 1000 is not whole.
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options.timings;
    this.options = { ...options, timings: { leaseDurationMs: Math.round(leaseDurationMs), renewDeadlineMs: Math.round(renewDeadlineMs), retryPeriodMs: Math.round(retryPeriodMs) } };
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    options.metrics?.leader.set(0);
  }

  get identity(): string {
    return this.options.identity;
  }

  get state(): LeaderState {
    if (this.leading) return 'leader';
    return this.answered ? 'standby' : 'unknown';
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Leading and within the renew deadline by the clock, not only by the
   * deadline timer: after the process was frozen past its deadline, this is
   * false before that timer has run.
   */
  get leadingNow(): boolean {
    return this.leading && this.now() < this.deadlineAt;
  }

  /** The holder this elector last saw in the Lease (itself when leading); undefined when none or not yet read. */
  get holder(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  /** While leading: the term (the Lease's leaseTransitions when this elector took it) and when it began. */
  get leadership(): { identity: string; term: number; since: string } | undefined {
    if (!this.leading || !this.snapshot) return undefined;
    return { identity: this.options.identity, term: this.snapshot.record.leaseTransitions, since: this.leadingSince };
  }

  /**
   * Tries at once instead of at the next retry: a standby saw the Lease
   * released. Nothing while leading, stopped, or with an attempt in flight.
   */
  nudge(): void {
    if (this.stopped || this.leading || this.attempt !== undefined || this.retryTimer === undefined) return;
    this.options.log.info({ lease: this.options.lease }, 'the leader lease was released; trying to take it now');
    clearTimeout(this.retryTimer);
    this.schedule(0);
  }

  /** Starts the loop: the first attempt at once, then one per retry period. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Ends the loop and, when leading, leadership (onStoppedLeading at once),
   * leaving the Lease to expire as a crashed process would. Resolves once an
   * attempt in flight has ended.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.lose('stopped');
    await this.attempt;
  }

  /**
   * stop(), then, if this elector holds the Lease, hands it over as
   * client-go's ReleaseOnCancel does: the holder cleared and a 1 s duration,
   * so a standby takes it at its next attempt. Callers stop their leader's
   * work first. A failure is logged: the Lease then expires as after a crash.
   */
  async release(): Promise<void> {
    await this.stop();
    const snapshot = this.snapshot;
    if (snapshot?.record.holderIdentity !== this.options.identity) return;
    const now = microTime(new Date());
    const record: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: snapshot.record.leaseTransitions };
    try {
      this.snapshot = await this.options.api.update(snapshot, record, this.options.timings.renewDeadlineMs);
      this.observe(record);
      this.options.log.info({ lease: this.options.lease }, 'released the leader lease');
    } catch (error) {
      this.options.log.warn({ lease: this.options.lease, err: error }, 'could not release the leader lease; it expires on its own');
    }
  }

  private schedule(delayMs: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const attempt = this.tryAcquireOrRenew().then(() => {
        if (this.attempt === attempt) this.attempt = undefined;
        if (this.stopped) return;
        const { retryPeriodMs } = this.options.timings;
        this.schedule(this.leading ? retryPeriodMs : retryPeriodMs * (1 + STANDBY_RETRY_JITTER * this.random()));
      });
      this.attempt = attempt;
    }, delayMs);
  }

  /** One attempt; never rejects (failures are counted and wait for the next one, or the deadline). */
  private async tryAcquireOrRenew(): Promise<void> {
    const started = this.now();
    const stamp = microTime(new Date());
    const mine: LeaseRecord = {
      holderIdentity: this.options.identity, leaseDurationSeconds: Math.ceil(this.options.timings.leaseDurationMs / 1000),
      acquireTime: stamp, renewTime: stamp, leaseTransitions: 0,
    };
    if (this.leading && this.snapshot) {
      await this.renew(started, mine, this.snapshot);
      return;
    }
    const timeoutMs = this.options.timings.renewDeadlineMs;
    try {
      const current = await this.options.api.get(timeoutMs);
      this.answered = true;
      if (current === undefined) {
        this.written(await this.options.api.create(mine, timeoutMs), started);
        return;
      }
      this.snapshot = current;
      this.observe(current.record);
      const held = current.record.holderIdentity;
      if (held !== '' && held !== this.options.identity && this.observedValid()) return;
      const record = held === this.options.identity
        ? { ...mine, acquireTime: current.record.acquireTime, leaseTransitions: current.record.leaseTransitions }
        : { ...mine, leaseTransitions: Math.min(current.record.leaseTransitions + 1, MAX_INT32) };
      this.written(await this.options.api.update(current, record, timeoutMs), started);
    } catch (error) {
      // A 409 comes from a write after a successful read: another candidate won the race.
      this.answered = error instanceof KubeApiError && error.status === 409;
      this.failed(error);
    }
  }

  /** The leader's renewal: an update from the Lease it last wrote, no read first. */
  private async renew(started: number, mine: LeaseRecord, snapshot: LeaseSnapshot): Promise<void> {
    const record = { ...mine, acquireTime: snapshot.record.acquireTime, leaseTransitions: snapshot.record.leaseTransitions };
    try {
      const written = await this.options.api.update(snapshot, record, Math.max(1, Math.ceil(this.deadlineAt - this.now())));
      // Lost at the deadline while the request was out: the Lease is still
      // ours, but leadership comes back only through a new acquisition.
      this.snapshot = written;
      this.observe(written.record);
      if (this.leading) this.extendDeadline(started);
    } catch (error) {
      this.options.metrics?.leaseRenewFailures.inc();
      if (error instanceof KubeApiError && error.status === 409) {
        this.options.log.warn({ lease: this.options.lease }, 'the leader lease was changed by another writer; stopping leading');
        this.lose('conflict');
      }
      this.failed(error);
    }
  }

  /** A successful create or update from a standby: this elector holds the Lease. */
  private written(snapshot: LeaseSnapshot, started: number): void {
    this.snapshot = snapshot;
    this.observe(snapshot.record);
    this.lastFailure = '';
    // Stopped meanwhile, or the answer came so late that the lease could be
    // near its end: release() or the next attempt takes it from here.
    if (this.stopped || this.now() >= started + this.options.timings.renewDeadlineMs) return;
    this.leading = true;
    this.leadingSince = new Date().toISOString();
    this.extendDeadline(started);
    this.options.metrics?.leader.set(1);
    this.options.metrics?.leaderTransitions.inc({ to: 'leader' });
    this.options.log.info({ lease: this.options.lease, identity: this.options.identity, transitions: snapshot.record.leaseTransitions }, 'became the leader');
    this.notify(() => { this.options.onStartedLeading(); });
  }

  /** Leadership lasts until `started` (a time before the write landed) plus the renew deadline. */
  private extendDeadline(started: number): void {
    this.deadlineAt = started + this.options.timings.renewDeadlineMs;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      if (!this.leading) return;
      this.options.log.warn({ lease: this.options.lease, renewDeadlineSeconds: this.options.timings.renewDeadlineMs / 1000 }, 'could not renew the leader lease before the renew deadline; stopping leading');
      this.lose('deadline');
    }, Math.max(0, this.deadlineAt - this.now()));
  }

  private lose(reason: LeadershipLoss): void {
    if (!this.leading) return;
    this.leading = false;
    // Past the deadline the API server has not answered for a while: who leads now is unknown.
    this.answered = reason === 'conflict';
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.options.metrics?.leader.set(0);
    this.options.metrics?.leaderTransitions.inc({ to: 'standby' });
    this.options.log.info({ lease: this.options.lease, reason }, 'stopped leading');
    this.notify(() => { this.options.onStoppedLeading(reason); });
  }

  /** Runs a callback; one that throws despite its contract is logged, never left to crash the loop. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.options.log.error({ lease: this.options.lease, err: error }, 'a leadership callback threw');
    }
  }

  /** Records what the Lease says; the observation time moves only when the record changed. */
  private observe(record: LeaseRecord): void {
    const key = recordKey(record);
    if (this.observed?.key === key) return;
    if (record.holderIdentity !== this.observed?.record.holderIdentity && record.holderIdentity !== this.options.identity) {
      this.options.log.info({ lease: this.options.lease, holder: record.holderIdentity || undefined }, 'the leader lease changed hands');
    }
    this.observed = { record, key, at: this.now() };
  }

  /** Whether the observed holder's claim still runs: its duration has not passed since the record last changed. */
  private observedValid(): boolean {
    const observed = this.observed;
    return observed !== undefined && observed.at + observed.record.leaseDurationSeconds * 1000 > this.now();
  }

  /** Logs a failure once per distinct message, so a standby that cannot reach the API server writes one line. */
  private failed(error: unknown): void {
    const message = (error as Error).message;
    if (error instanceof KubeApiError && error.status === 409 && !this.leading) {
      this.options.log.debug({ lease: this.options.lease }, 'another candidate wrote the leader lease first');
      return;
    }
    if (message === this.lastFailure) {
      this.options.log.debug({ lease: this.options.lease, err: error }, 'leader lease request failed');
      return;
    }
    this.lastFailure = message;
    this.options.log.warn({ lease: this.options.lease, err: error }, 'leader lease request failed');
  }
}
